// Reading and writing the files encodings come in:
// - `.tiktoken`: one token per line, "base64(bytes) rank" (tiktoken's `load_tiktoken_bpe`);
// - GPT-2's original `encoder.json` + `vocab.bpe` ("data gym" format: bytes shown as printable
//   characters, merges listed in rank order), converted the way tiktoken's
//   `data_gym_to_mergeable_bpe_ranks` does, including its check that both files agree.
// Every problem is reported with the file and line.

import Foundation

public enum EncodingFiles {
    /// Token byte strings indexed by rank, from the contents of a `.tiktoken` file.
    public static func parseTiktoken(_ data: [UInt8], path: String) throws -> [[UInt8]?] {
        var tokens: [[UInt8]?] = []
        var seen = Set<[UInt8]>()
        var line = 0, start = 0
        while start < data.count {
            line += 1
            var end = start
            while end < data.count, data[end] != 0x0A { end += 1 }
            defer { start = end + 1 }
            var fields = data[start..<end]
            if fields.last == 0x0D { fields = fields.dropLast() }
            if fields.isEmpty { continue }
            guard let space = fields.firstIndex(of: 0x20) else {
                throw TokenizerError.invalidFile(path: path, line: line, reason: "expected \"base64 rank\", found no space")
            }
            guard let token = Data(base64Encoded: Data(fields[..<space])), !token.isEmpty else {
                throw TokenizerError.invalidFile(path: path, line: line, reason: "\"\(String(decoding: fields[..<space], as: UTF8.self))\" is not a base64 token")
            }
            guard let rank = Int(String(decoding: fields[(space + 1)...], as: UTF8.self)), rank >= 0, rank < 10_000_000 else {
                throw TokenizerError.invalidFile(path: path, line: line, reason: "\"\(String(decoding: fields[(space + 1)...], as: UTF8.self))\" is not a rank")
            }
            let bytes = [UInt8](token)
            guard seen.insert(bytes).inserted else {
                throw TokenizerError.invalidFile(path: path, line: line, reason: "token \(bytes) appears twice")
            }
            if rank >= tokens.count { tokens += [[UInt8]?](repeating: nil, count: rank + 1 - tokens.count) }
            guard tokens[rank] == nil else {
                throw TokenizerError.invalidFile(path: path, line: line, reason: "rank \(rank) appears twice")
            }
            tokens[rank] = bytes
        }
        guard !tokens.isEmpty else { throw TokenizerError.invalidFile(path: path, line: nil, reason: "no tokens") }
        return tokens
    }

    /// What a `.tiktoken` file cannot say, kept beside it in `NAME.tiktoken.json`.
    struct Sidecar: Codable {
        let pattern: String
        let specialTokens: [String: Int]
        var preTokenizer: PreTokenizer? { PreTokenizer(rawValue: pattern) }

        enum CodingKeys: String, CodingKey {
            case pattern
            case specialTokens = "special_tokens"
        }
    }

    static func readSidecar(forTiktokenFile path: String) throws -> Sidecar? {
        guard let data = FileManager.default.contents(atPath: path + ".json") else { return nil }
        guard let sidecar = try? JSONDecoder().decode(Sidecar.self, from: data), sidecar.preTokenizer != nil else {
            throw TokenizerError.invalidFile(path: path + ".json", line: nil,
                                             reason: "expected {\"pattern\": \"r50k|cl100k|o200k\", \"special_tokens\": {token: id}}")
        }
        return sidecar
    }

    /// The `.tiktoken` text for tokens indexed by rank.
    public static func tiktokenText(_ tokens: [[UInt8]]) -> String {
        tokens.enumerated().map { "\(Data($1).base64EncodedString()) \($0)\n" }.joined()
    }

    /// The byte each printable character of GPT-2's data gym files stands for (bytes_to_unicode):
    /// printable Latin-1 characters stand for themselves, the 68 others for U+0100 upwards.
    static let dataGymByte: [Character: UInt8] = {
        var map: [Character: UInt8] = [:]
        var printable: [UInt8] = Array(33...126) + Array(161...172) + Array(174...255)
        for b in printable { map[Character(Unicode.Scalar(b))] = b }
        var n: UInt32 = 0
        for b in 0...255 where !printable.contains(UInt8(b)) {
            map[Character(Unicode.Scalar(256 + n)!)] = UInt8(b)
            printable.append(UInt8(b))
            n += 1
        }
        return map
    }()

    /// The data gym text of a byte string (GPT-2's bytes_to_unicode): how encoder.json, vocab.bpe,
    /// tokenizer.json and GGUF's `tokenizer.ggml.tokens` spell tokens.
    public static func dataGymText(_ bytes: [UInt8]) -> String {
        String(bytes.map { dataGymCharacter[Int($0)] })
    }

    static let dataGymCharacter: [Character] = {
        var table = [Character](repeating: " ", count: 256)
        for (c, b) in dataGymByte { table[Int(b)] = c }
        return table
    }()

    /// The merges of a byte-level BPE, in rank order, as vocab.bpe lines ("a b" in data gym text): the
    /// token of rank r is made by BPE-encoding its bytes with the ranks below r, which must end in exactly
    /// two parts (as tiktoken's and Hugging Face's converters recover merges from ranks).
    public static func mergeLines(_ tokens: [[UInt8]?]) throws -> [String] {
        var rank: [[UInt8]: Int] = [:]
        for (r, t) in tokens.enumerated() { if let t { rank[t] = r } }
        var lines: [String] = []
        for (r, token) in tokens.enumerated() {
            guard let token, token.count > 1 else { continue }
            var parts = token.map { [$0] }
            while parts.count > 2 {
                var best = -1, bestRank = Int.max
                for i in 0..<(parts.count - 1) {
                    if let pr = rank[parts[i] + parts[i + 1]], pr < r, pr < bestRank { best = i; bestRank = pr }
                }
                guard best >= 0 else { break }
                parts[best] += parts[best + 1]
                parts.remove(at: best + 1)
            }
            guard parts.count == 2 else {
                throw TokenizerError.invalidArgument("token \(r) cannot be built from two lower-ranked tokens; not a byte-level BPE in rank order")
            }
            lines.append(dataGymText(parts[0]) + " " + dataGymText(parts[1]))
        }
        return lines
    }

    /// Token byte strings by rank from GPT-2's `encoder.json` and `vocab.bpe`: ranks 0-255 are the
    /// single bytes in data gym order, then one rank per merge. The encoder must agree with the merges.
    public static func parseDataGym(encoderJSON: Data, vocabBPE: String, encoderPath: String, vocabPath: String) throws -> [[UInt8]?] {
        func decode(_ s: Substring, line: Int) throws -> [UInt8] {
            try s.map { c in
                guard let b = dataGymByte[c] else {
                    throw TokenizerError.invalidFile(path: vocabPath, line: line, reason: "character \(c) is not a data gym byte")
                }
                return b
            }
        }
        let printableOrder: [UInt8] = Array(33...126) + Array(161...172) + Array(174...255)
        var tokens: [[UInt8]?] = (printableOrder + (0...255).map(UInt8.init).filter { !printableOrder.contains($0) }).map { [$0] }
        let lines = vocabBPE.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated().dropFirst() where !line.isEmpty { // line 1 is a version header
            let parts = line.split(separator: " ")
            guard parts.count == 2 else {
                throw TokenizerError.invalidFile(path: vocabPath, line: index + 1, reason: "expected two space-separated parts, found \(parts.count)")
            }
            tokens.append(try decode(parts[0], line: index + 1) + decode(parts[1], line: index + 1))
        }
        guard let object = try? JSONSerialization.jsonObject(with: encoderJSON) as? [String: Int] else {
            throw TokenizerError.invalidFile(path: encoderPath, line: nil, reason: "not a JSON object of token → id")
        }
        var fromEncoder = [[UInt8]: Int]()
        for (key, id) in object where key != "<|endoftext|>" && key != "<|startoftext|>" {
            fromEncoder[try decode(Substring(key), line: 0)] = id
        }
        let fromMerges = Dictionary(tokens.enumerated().map { ($1!, $0) }, uniquingKeysWith: { a, _ in a })
        guard fromEncoder == fromMerges else {
            throw TokenizerError.invalidFile(path: encoderPath, line: nil, reason: "does not agree with the merges in \(vocabPath)")
        }
        return tokens
    }
}

/// The encodings that ship with the package (as resources, verified by sha256 like tiktoken).
public enum BuiltinEncoding: String, CaseIterable, Sendable {
    case gpt2, r50k_base, cl100k_base, o200k_base

    var resourceName: String {
        switch self {
        case .gpt2, .r50k_base: return "r50k_base"
        case .cl100k_base: return "cl100k_base"
        case .o200k_base: return "o200k_base"
        }
    }

    /// tiktoken's `expected_hash` for the file.
    var sha256: String {
        switch self {
        case .gpt2, .r50k_base: return "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"
        case .cl100k_base: return "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
        case .o200k_base: return "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
        }
    }

    var preTokenizer: PreTokenizer {
        switch self {
        case .gpt2, .r50k_base: return .r50k
        case .cl100k_base: return .cl100k
        case .o200k_base: return .o200k
        }
    }

    var specialTokens: [String: Int] {
        switch self {
        case .gpt2, .r50k_base: return ["<|endoftext|>": 50256]
        case .cl100k_base:
            return ["<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                    "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276]
        case .o200k_base: return ["<|endoftext|>": 199999, "<|endofprompt|>": 200018]
        }
    }
}

extension Encoding {
    nonisolated(unsafe) private static var loaded: [BuiltinEncoding: Encoding] = [:]
    private static let lock = NSLock()

    /// A built-in encoding by name (gpt2, r50k_base, cl100k_base, o200k_base), loaded once.
    public static func named(_ name: String) throws -> Encoding {
        guard let builtin = BuiltinEncoding(rawValue: name) else { throw TokenizerError.unknownEncoding(name) }
        lock.lock()
        defer { lock.unlock() }
        if let e = loaded[builtin] { return e }
        guard let url = Bundle.module.url(forResource: builtin.resourceName, withExtension: "tiktoken") else {
            throw TokenizerError.invalidFile(path: builtin.resourceName + ".tiktoken", line: nil, reason: "missing from the package resources")
        }
        let e = try load(tiktokenFile: url.path, name: name, preTokenizer: builtin.preTokenizer,
                         specialTokens: builtin.specialTokens, expectedSHA256: builtin.sha256)
        loaded[builtin] = e
        return e
    }

    /// A built-in encoding by name, or a `.tiktoken` file by path (the gpt2 pattern and
    /// <|endoftext|> after the last rank, unless `preTokenizer`/`specialTokens` say otherwise).
    public static func load(nameOrPath: String, preTokenizer: PreTokenizer? = nil) throws -> Encoding {
        if BuiltinEncoding(rawValue: nameOrPath) != nil { return try named(nameOrPath) }
        guard nameOrPath.hasSuffix(".tiktoken") || FileManager.default.fileExists(atPath: nameOrPath) else {
            throw TokenizerError.unknownEncoding(nameOrPath)
        }
        let sidecar = try EncodingFiles.readSidecar(forTiktokenFile: nameOrPath)
        return try load(tiktokenFile: nameOrPath, name: URL(fileURLWithPath: nameOrPath).deletingPathExtension().lastPathComponent,
                        preTokenizer: preTokenizer ?? sidecar?.preTokenizer ?? .r50k,
                        specialTokens: sidecar?.specialTokens, expectedSHA256: nil)
    }

    /// Writes this encoding as `path` (.tiktoken) plus `path.json` with its pattern and special
    /// tokens (the .tiktoken format has no place for them); both atomically.
    public func write(tiktokenFile path: String) throws {
        let tokens = (0..<rankCount).map { bytes(ofToken: $0) ?? [] }
        guard tokens.allSatisfy({ !$0.isEmpty }) else {
            throw TokenizerError.invalidArgument("\(name) has unused ranks; .tiktoken files list every rank")
        }
        try Data(EncodingFiles.tiktokenText(tokens).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        let sidecar = EncodingFiles.Sidecar(pattern: preTokenizer.rawValue, specialTokens: specialTokens)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(sidecar).write(to: URL(fileURLWithPath: path + ".json"), options: .atomic)
    }

    /// An encoding from a `.tiktoken` file, verified against `expectedSHA256` when given.
    public static func load(tiktokenFile path: String, name: String, preTokenizer: PreTokenizer,
                            specialTokens: [String: Int]?, expectedSHA256: String?) throws -> Encoding {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError.invalidFile(path: path, line: nil, reason: "cannot read the file (does it exist?)")
        }
        let bytes = [UInt8](data)
        if let expected = expectedSHA256 {
            let actual = SHA256.hex(bytes)
            guard actual == expected else { throw TokenizerError.hashMismatch(path: path, expected: expected, actual: actual) }
        }
        let tokens = try EncodingFiles.parseTiktoken(bytes, path: path)
        return Encoding(name: name, preTokenizer: preTokenizer, tokens: tokens,
                        specialTokens: specialTokens ?? ["<|endoftext|>": tokens.count])
    }

    /// GPT-2 from a Hugging Face `tokenizer.json` (a byte-level BPE model: `model.vocab` and
    /// `model.merges`, the merges as "a b" strings or [a, b] pairs), checked like the data gym files.
    public static func gpt2(tokenizerJSON path: String) throws -> Encoding {
        guard let data = FileManager.default.contents(atPath: path),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let model = root["model"] as? [String: Any], let vocab = model["vocab"] as? [String: Int],
              let merges = model["merges"] as? [Any] else {
            throw TokenizerError.invalidFile(path: path, line: nil, reason: "not a tokenizer.json with model.vocab and model.merges")
        }
        let lines = try merges.map { merge -> String in
            if let text = merge as? String { return text }
            if let pair = merge as? [String], pair.count == 2 { return pair.joined(separator: " ") }
            throw TokenizerError.invalidFile(path: path, line: nil, reason: "a merge is neither \"a b\" nor [a, b]")
        }
        let tokens = try EncodingFiles.parseDataGym(encoderJSON: try JSONSerialization.data(withJSONObject: vocab),
                                                    vocabBPE: "#version: tokenizer.json\n" + lines.joined(separator: "\n") + "\n",
                                                    encoderPath: path, vocabPath: path)
        return Encoding(name: "gpt2", preTokenizer: .r50k, tokens: tokens, specialTokens: ["<|endoftext|>": 50256])
    }

    /// GPT-2's byte-level BPE from a token list in data gym text (index = id) and its merges, as GGUF files
    /// hold them (`tokenizer.ggml.tokens`, `tokenizer.ggml.merges`); `special` are the ids of control tokens.
    public static func gpt2(vocabulary: [String], merges: [String], special: [Int], path: String) throws -> Encoding {
        var encoder: [String: Int] = [:]
        var specialTokens: [String: Int] = [:]
        let specialSet = Set(special)
        for (id, token) in vocabulary.enumerated() {
            if specialSet.contains(id) { specialTokens[token] = id } else { encoder[token] = id }
        }
        let tokens = try EncodingFiles.parseDataGym(encoderJSON: try JSONSerialization.data(withJSONObject: encoder),
                                                    vocabBPE: "#version: gguf\n" + merges.joined(separator: "\n") + "\n",
                                                    encoderPath: path, vocabPath: path)
        return Encoding(name: "gpt2", preTokenizer: .r50k, tokens: tokens, specialTokens: specialTokens)
    }

    /// GPT-2 from OpenAI's original `encoder.json` and `vocab.bpe`.
    public static func gpt2(encoderJSON: String, vocabBPE: String) throws -> Encoding {
        guard let json = FileManager.default.contents(atPath: encoderJSON) else {
            throw TokenizerError.invalidFile(path: encoderJSON, line: nil, reason: "cannot read the file (does it exist?)")
        }
        guard let merges = FileManager.default.contents(atPath: vocabBPE).flatMap({ String(data: $0, encoding: .utf8) }) else {
            throw TokenizerError.invalidFile(path: vocabBPE, line: nil, reason: "cannot read the file as UTF-8 text")
        }
        let tokens = try EncodingFiles.parseDataGym(encoderJSON: json, vocabBPE: merges, encoderPath: encoderJSON, vocabPath: vocabBPE)
        // <|endoftext|> is GPT-2's 50256; a smaller vocabulary in this format names its own id.
        let end = (try? JSONSerialization.jsonObject(with: json) as? [String: Any])?["<|endoftext|>"] as? Int ?? 50256
        return Encoding(name: "gpt2", preTokenizer: .r50k, tokens: tokens, specialTokens: ["<|endoftext|>": end])
    }
}
