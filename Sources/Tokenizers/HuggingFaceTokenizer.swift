// Byte-level BPE tokenizers in Hugging Face's `tokenizer.json` format, the way Llama 3 and Qwen ship
// theirs (and GPT-2's, converted): `model.vocab` (token → id, the tokens spelled in GPT-2's byte-to-character
// alphabet), `model.merges`, the pre-tokenizer (a Split with the family's regular expression followed
// by ByteLevel, or ByteLevel alone for GPT-2), an optional NFC normalizer (Qwen), and `added_tokens`
// (<|begin_of_text|>, <|im_start|>, ...), which become special tokens.
//
// BPE here is tiktoken's: the pair whose merged token has the lowest id merges first. That is Hugging
// Face's rule (the pair with the earliest merge) whenever merges come in the order of the ids they
// produce, which holds for vocabularies converted from tiktoken (Llama 3) and for those `tokenizers`
// trains (merge n makes the next new id); a file whose merges are out of that order is refused rather
// than encoded differently. The split expressions are matched to our hand-written pre-tokenizers
// (PreTokenizer.huggingFacePatterns); any other expression is refused by name.

import Foundation

extension Encoding {
    /// The tokenizer in a Hugging Face `tokenizer.json` (byte-level BPE).
    public static func huggingFace(tokenizerJSON path: String) throws -> Encoding {
        func fail(_ reason: String) -> TokenizerError { TokenizerError.invalidFile(path: path, line: nil, reason: reason) }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot be read") }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let model = root["model"] as? [String: Any], let vocab = model["vocab"] as? [String: Int] else {
            throw fail("not a tokenizer.json with model.vocab")
        }
        if let type = model["type"] as? String, type != "BPE" { throw fail("model.type is \(type); only byte-level BPE is read") }
        let preTokenizer = try splitPattern(root["pre_tokenizer"], fail)
        var normalizesToNFC = false
        if let normalizer = root["normalizer"] as? [String: Any] {
            guard normalizer["type"] as? String == "NFC" else { throw fail("normalizer \(normalizer["type"] ?? "?") is not supported (only NFC)") }
            normalizesToNFC = true
        }

        // Added tokens are matched whole before BPE runs: our special tokens.
        var special: [String: Int] = [:]
        for case let added as [String: Any] in root["added_tokens"] as? [Any] ?? [] {
            guard let content = added["content"] as? String, let id = added["id"] as? Int, id >= 0, !content.isEmpty else {
                throw fail("an added token has no content or id")
            }
            special[content] = id
        }
        let specialIDs = Set(special.values)
        var largest = -1
        for (_, id) in vocab {
            guard id >= 0, id < 1 << 24 else { throw fail("token id \(id) is out of range") }
            largest = max(largest, id)
        }
        var tokens = [[UInt8]?](repeating: nil, count: largest + 1)
        var seen = Set<[UInt8]>()
        for (text, id) in vocab where !specialIDs.contains(id) {
            var bytes: [UInt8] = []
            for c in text {
                guard let b = EncodingFiles.dataGymByte[c] else { throw fail("token \(text.debugDescription) is not in the byte-level alphabet") }
                bytes.append(b)
            }
            guard tokens[id] == nil, seen.insert(bytes).inserted else { throw fail("token \(text.debugDescription) or id \(id) appears twice") }
            tokens[id] = bytes
        }
        guard seen.count >= 256, (0...255).allSatisfy({ seen.contains([UInt8($0)]) }) else {
            throw fail("the vocabulary lacks some of the 256 single bytes a byte-level BPE needs")
        }
        try checkMergeOrder(model["merges"], vocab, fail)
        let name = preTokenizer == .r50k && largest == 50256 ? "gpt2" : (path as NSString).lastPathComponent
        return Encoding(name: name, preTokenizer: preTokenizer, tokens: tokens, specialTokens: special, normalizesToNFC: normalizesToNFC)
    }

    /// The pre-tokenizer a `pre_tokenizer` object describes: ByteLevel with its own regex (GPT-2's), or
    /// Split(Regex) then ByteLevel without regex.
    private static func splitPattern(_ object: Any?, _ fail: (String) -> TokenizerError) throws -> PreTokenizer {
        guard let object = object as? [String: Any], let type = object["type"] as? String else {
            throw fail("no pre_tokenizer: not a byte-level BPE tokenizer")
        }
        let steps = type == "Sequence" ? (object["pretokenizers"] as? [[String: Any]] ?? []) : [object]
        var pattern: PreTokenizer?
        var byteLevel = false
        for step in steps {
            switch step["type"] as? String {
            case "ByteLevel":
                byteLevel = true
                if step["use_regex"] as? Bool ?? true { pattern = pattern ?? .r50k }
                if step["add_prefix_space"] as? Bool == true { throw fail("ByteLevel add_prefix_space is not supported") }
            case "Split":
                guard let regex = (step["pattern"] as? [String: Any])?["Regex"] as? String else {
                    throw fail("a Split pre-tokenizer without a Regex pattern is not supported")
                }
                guard let known = PreTokenizer.huggingFacePatterns[regex] else {
                    throw fail("the split pattern \(regex) is not one this library implements (GPT-2, Llama 3 / cl100k, Qwen2, o200k)")
                }
                guard (step["behavior"] as? String ?? "Isolated") == "Isolated", step["invert"] as? Bool != true else {
                    throw fail("only Split with behavior Isolated is supported")
                }
                pattern = known
            default:
                throw fail("pre-tokenizer \(step["type"] ?? "?") is not supported")
            }
        }
        guard byteLevel, let pattern else { throw fail("not a byte-level BPE tokenizer (no ByteLevel pre-tokenizer)") }
        return pattern
    }

    /// Merges must make their tokens in id order (see the header); "a b" strings or [a, b] pairs.
    private static func checkMergeOrder(_ merges: Any?, _ vocab: [String: Int], _ fail: (String) -> TokenizerError) throws {
        guard let merges = merges as? [Any] else { throw fail("model.merges is missing") }
        var previous = -1
        for (n, merge) in merges.enumerated() {
            let pair: [String]
            if let text = merge as? String {
                pair = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            } else {
                pair = merge as? [String] ?? []
            }
            guard pair.count == 2, let id = vocab[pair[0] + pair[1]] else {
                throw fail("merge \(n + 1) is not two tokens whose concatenation is in the vocabulary")
            }
            guard id >= previous else {
                throw fail("merge \(n + 1) makes id \(id) after a merge made \(previous): merges out of id order cannot be run by rank")
            }
            previous = id
        }
    }
}
