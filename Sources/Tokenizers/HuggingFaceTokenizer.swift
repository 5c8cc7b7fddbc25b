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
        var vocabulary: [Int: String] = [:]
        for (text, id) in vocab {
            guard id >= 0, id < 1 << 24 else { throw fail("token id \(id) is out of range") }
            vocabulary[id] = text
        }
        var special = Set<Int>()
        for case let added as [String: Any] in root["added_tokens"] as? [Any] ?? [] {
            guard let content = added["content"] as? String, let id = added["id"] as? Int, id >= 0, id < 1 << 24, !content.isEmpty else {
                throw fail("an added token has no content or id")
            }
            vocabulary[id] = content
            special.insert(id)
        }
        let byID = (0..<((vocabulary.keys.max() ?? -1) + 1)).map { vocabulary[$0] }
        let merges = try (model["merges"] as? [Any] ?? []).enumerated().map { n, merge -> String in
            if let text = merge as? String { return text }
            if let pair = merge as? [String], pair.count == 2 { return pair.joined(separator: " ") }
            throw fail("merge \(n + 1) is neither \"a b\" nor [a, b]")
        }
        guard model["merges"] is [Any] else { throw fail("model.merges is missing") }
        let name = preTokenizer == .r50k && byID.count == 50257 ? "gpt2" : (path as NSString).lastPathComponent
        return try byteLevel(vocabulary: byID, special: special, preTokenizer: preTokenizer, normalizesToNFC: normalizesToNFC,
                             merges: merges, path: path, name: name)
    }

    /// A byte-level BPE whose ranks are its ids: `vocabulary[id]` is each token in GPT-2's byte-to-character
    /// alphabet (nil: no token has that id), `special` the ids matched whole (their text as is), `merges`
    /// ("a b") checked to come in id order. What tokenizer.json and GGUF files of Llama 3 and Qwen hold.
    public static func byteLevel(vocabulary: [String?], special: Set<Int>, preTokenizer: PreTokenizer, normalizesToNFC: Bool = false,
                                 merges: [String], path: String, name: String? = nil) throws -> Encoding {
        func fail(_ reason: String) -> TokenizerError { TokenizerError.invalidFile(path: path, line: nil, reason: reason) }
        var tokens = [[UInt8]?](repeating: nil, count: vocabulary.count)
        var specialTokens: [String: Int] = [:], ids: [String: Int] = [:]
        var seen = Set<[UInt8]>()
        for (id, text) in vocabulary.enumerated() {
            guard let text else { continue }
            if special.contains(id) {
                guard specialTokens.updateValue(id, forKey: text) == nil else { throw fail("special token \(text.debugDescription) appears twice") }
                continue
            }
            var bytes: [UInt8] = []
            for c in text {
                guard let b = EncodingFiles.dataGymByte[c] else { throw fail("token \(text.debugDescription) is not in the byte-level alphabet") }
                bytes.append(b)
            }
            guard seen.insert(bytes).inserted else { throw fail("token \(text.debugDescription) appears twice") }
            tokens[id] = bytes
            ids[text] = id
        }
        guard (0...255).allSatisfy({ seen.contains([UInt8($0)]) }) else {
            throw fail("the vocabulary lacks some of the 256 single bytes a byte-level BPE needs")
        }
        // Merges must make their tokens in id order (see the header).
        var previous = -1
        for (n, merge) in merges.enumerated() {
            let pair = merge.split(separator: " ", omittingEmptySubsequences: false)
            guard pair.count == 2, let id = ids[String(pair[0]) + String(pair[1])] else {
                throw fail("merge \(n + 1) is not two tokens whose concatenation is in the vocabulary")
            }
            guard id >= previous else {
                throw fail("merge \(n + 1) makes id \(id) after a merge made \(previous): merges out of id order cannot be run by rank")
            }
            previous = id
        }
        return Encoding(name: name ?? (path as NSString).lastPathComponent, preTokenizer: preTokenizer, tokens: tokens,
                        specialTokens: specialTokens, normalizesToNFC: normalizesToNFC)
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
}
