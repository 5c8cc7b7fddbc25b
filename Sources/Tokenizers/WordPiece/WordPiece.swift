// BERT's tokenizer: WordPiece (Schuster & Nakajima 2012; Devlin et al. 2019) over the words BertNormalizer
// leaves, with the special tokens BERT's inputs are built from — [CLS] first, [SEP] after each segment —
// and the token type ids that tell a pair's two segments apart. Ids equal Hugging Face's BertTokenizerFast.
//
// A word is cut greedily, longest match first: the longest prefix in the vocabulary, then the longest
// continuation ("##" + the rest's prefix), and so on; a word with a part that matches nothing, or longer
// than 100 characters, is one [UNK]. Special tokens written in the text ("[MASK]") stay one token.

import Foundation

public struct WordPieceTokenizer: Sendable {
    public let vocabulary: [String]
    public let normalizer: BertNormalizer
    public let maxInputCharsPerWord: Int
    public let continuingPrefix: String
    /// Keyed by UTF-8 bytes: Swift's String equality is canonical equivalence, and vocabularies hold tokens that are
    /// distinct scalars but canonically equal (U+0300 and U+0340), which `tokenizers` keeps apart.
    private let ids: [[UInt8]: Int]
    private let prefixBytes: [UInt8]
    public let unknown: Int, classifier: Int, separator: Int, padding: Int, mask: Int?
    /// Tokens matched in the raw text before normalisation (the added tokens of tokenizer.json).
    public let specialTokens: [String]

    public init(vocabulary: [String], normalizer: BertNormalizer, unknownToken: String = "[UNK]", maxInputCharsPerWord: Int = 100,
                continuingPrefix: String = "##", specialTokens: [String]? = nil, path: String = "vocabulary") throws {
        var ids: [[UInt8]: Int] = [:]
        for (i, token) in vocabulary.enumerated() {
            let key = Array(token.utf8)
            if let first = ids[key] {
                throw TokenizerError.invalidFile(path: path, line: i + 1, reason: "the token \"\(token)\" appears twice (first on line \(first + 1))")
            }
            ids[key] = i
        }
        func require(_ token: String) throws -> Int {
            guard let id = ids[Array(token.utf8)] else { throw TokenizerError.invalidFile(path: path, line: nil, reason: "the vocabulary has no \(token) token") }
            return id
        }
        self.vocabulary = vocabulary
        self.normalizer = normalizer
        self.maxInputCharsPerWord = maxInputCharsPerWord
        self.continuingPrefix = continuingPrefix
        prefixBytes = Array(continuingPrefix.utf8)
        self.ids = ids
        unknown = try require(unknownToken)
        classifier = try require("[CLS]")
        separator = try require("[SEP]")
        padding = ids[Array("[PAD]".utf8)] ?? 0
        mask = ids[Array("[MASK]".utf8)]
        self.specialTokens = (specialTokens ?? ["[PAD]", unknownToken, "[CLS]", "[SEP]", "[MASK]"]).filter { ids[Array($0.utf8)] != nil }
            .sorted { $0.count > $1.count }
    }

    /// A vocab.txt: one token a line, its id its line number from 0.
    public init(vocabTxt path: String, lowercase: Bool = true) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError.invalidFile(path: path, line: nil, reason: "cannot read the file (does it exist?)")
        }
        guard let text = String(validating: data, as: UTF8.self) else { throw TokenizerError.invalidFile(path: path, line: nil, reason: "not UTF-8") }
        // Split on the newline scalar: splitting Characters would keep a token that is a lone combining mark
        // (U+0300 …) glued to the newline before it, as one grapheme.
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let s = String(String.UnicodeScalarView(line))
            return s.unicodeScalars.last == "\r" ? String(String.UnicodeScalarView(s.unicodeScalars.dropLast())) : s
        }
        if lines.last == "" { lines.removeLast() }
        try self.init(vocabulary: lines, normalizer: BertNormalizer(lowercase: lowercase), path: path)
    }

    /// A tokenizer.json of BertTokenizerFast's kind: a WordPiece model under a BertNormalizer.
    public init(tokenizerJSON path: String) throws {
        func fail(_ reason: String) -> TokenizerError { .invalidFile(path: path, line: nil, reason: reason) }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot read the file (does it exist?)") }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw fail("not a JSON object") }
        guard let model = root["model"] as? [String: Any], model["type"] as? String == "WordPiece" else {
            throw fail("not a WordPiece tokenizer (model.type is \(((root["model"] as? [String: Any])?["type"] as? String).map { "\"\($0)\"" } ?? "missing"))")
        }
        // model.vocab is read by our own scanner: a Foundation dictionary would merge tokens that are canonically
        // equal but distinct scalars (see `ids`).
        guard let vocab = VocabularyObject.parse([UInt8](data)) else { throw fail("model.vocab is not an object of token → id") }
        var vocabulary = [String](repeating: "", count: (vocab.map(\.1).max() ?? -1) + 1)
        var seen = Set<Int>()
        for (token, id) in vocab {
            guard id >= 0, seen.insert(id).inserted else { throw fail("the id \(id) appears twice in model.vocab") }
            vocabulary[id] = token
        }
        guard seen.count == vocabulary.count else { throw fail("model.vocab's ids are not 0 to \(vocabulary.count - 1) without gaps") }
        let n = root["normalizer"] as? [String: Any] ?? [:]
        let normalizer = BertNormalizer(cleanText: n["clean_text"] as? Bool ?? true, handleChineseChars: n["handle_chinese_chars"] as? Bool ?? true,
                                        stripAccents: n["strip_accents"] as? Bool, lowercase: n["lowercase"] as? Bool ?? true)
        let added = (root["added_tokens"] as? [[String: Any]] ?? []).compactMap { $0["content"] as? String }
        try self.init(vocabulary: vocabulary, normalizer: normalizer, unknownToken: model["unk_token"] as? String ?? "[UNK]",
                      maxInputCharsPerWord: model["max_input_chars_per_word"] as? Int ?? 100,
                      continuingPrefix: model["continuing_subword_prefix"] as? String ?? "##",
                      specialTokens: added.isEmpty ? nil : added, path: path)
    }

    public var vocabularySize: Int { vocabulary.count }

    public func id(_ token: String) -> Int? { ids[Array(token.utf8)] }

    /// One word's pieces, greedy longest match first (over characters, that is Unicode scalars, as `tokenizers`).
    func pieces(_ word: String) -> [Int] {
        let bytes = Array(word.utf8)
        var starts: [Int] = [] // the byte offset of each scalar, then the end
        for (i, b) in bytes.enumerated() where b & 0xC0 != 0x80 { starts.append(i) }
        let chars = starts.count
        starts.append(bytes.count)
        guard chars <= maxInputCharsPerWord else { return [unknown] }
        var out: [Int] = [], start = 0
        while start < chars {
            var end = chars, match: Int? = nil
            while end > start {
                let piece = (start > 0 ? prefixBytes : []) + bytes[starts[start]..<starts[end]]
                if let id = ids[piece] { match = id; break }
                end -= 1
            }
            guard let id = match else { return [unknown] }
            out.append(id)
            start = end
        }
        return out
    }

    /// The ids of `text` without [CLS] and [SEP].
    public func encode(_ text: String) -> [Int] {
        var out: [Int] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            // The earliest special token written in the text, the longest one at that place.
            var first: (range: Range<Substring.Index>, token: String)? = nil
            for token in specialTokens {
                if let r = rest.range(of: token), first == nil || r.lowerBound < first!.range.lowerBound { first = (r, token) }
            }
            let plain = first.map { rest[..<$0.range.lowerBound] } ?? rest
            for word in BertNormalizer.words(normalizer.normalize(String(plain))) { out += pieces(word) }
            guard let (range, token) = first else { break }
            out.append(ids[Array(token.utf8)]!)
            rest = rest[range.upperBound...]
        }
        return out
    }

    /// An input as BERT reads it: [CLS] a [SEP] (b [SEP]), with token type 0 for the first segment and 1 for the
    /// second; with `maxLength`, a pair is cut as `tokenizers`' "longest_first" cuts it: the longer segment down
    /// to what the shorter leaves, or both to half the room when that is not enough (the longer keeps the odd one).
    public func encode(_ a: String, pair b: String? = nil, maxLength: Int? = nil) -> (ids: [Int], typeIds: [Int]) {
        var first = encode(a), second = b.map(encode)
        if let maxLength {
            let room = max(0, maxLength - (second == nil ? 2 : 3))
            if var pair = second {
                if first.count + pair.count > room {
                    var (n1, n2) = (first.count, pair.count)
                    let swapped = n1 > n2
                    if swapped { swap(&n1, &n2) }
                    n2 = n1 > room ? n1 : max(n1, room - n1)
                    if n1 + n2 > room { n1 = room / 2; n2 = n1 + room % 2 }
                    if swapped { swap(&n1, &n2) }
                    first = Array(first.prefix(n1))
                    pair = Array(pair.prefix(n2))
                }
                second = pair
            } else {
                first = Array(first.prefix(room))
            }
        }
        var ids = [classifier] + first + [separator], types = [Int](repeating: 0, count: ids.count)
        if let second {
            ids += second + [separator]
            types += [Int](repeating: 1, count: second.count + 1)
        }
        return (ids, types)
    }

    /// Tokens back to text, as the WordPiece decoder of `tokenizers` does by default: specials left out, "##" pieces
    /// joined to the piece before, the rest separated by spaces, then its clean-up (no space before . , ! ? or
    /// English contractions).
    public func decode(_ tokens: [Int], skipSpecialTokens: Bool = true) throws -> String {
        var out = ""
        for id in tokens {
            guard id >= 0 && id < vocabulary.count else { throw TokenizerError.unknownToken(id, vocabularySize: vocabulary.count) }
            let token = vocabulary[id]
            if skipSpecialTokens && specialTokens.contains(token) { continue }
            if token.hasPrefix(continuingPrefix) { out += token.dropFirst(continuingPrefix.count) } else { out += (out.isEmpty ? "" : " ") + token }
        }
        for (from, to) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                           (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            out = out.replacingOccurrences(of: from, with: to)
        }
        return out
    }
}

/// The `"vocab": { "token": id, ... }` object of a tokenizer.json, its keys kept exactly as written.
enum VocabularyObject {
    static func parse(_ b: [UInt8]) -> [(String, Int)]? {
        let key = Array("\"vocab\"".utf8)
        var i = 0
        func skipSpace() { while i < b.count, [0x20, 0x09, 0x0A, 0x0D].contains(b[i]) { i += 1 } }
        // The first "vocab" key whose value is an object.
        search: while i + key.count <= b.count {
            guard b[i] == 0x22, Array(b[i..<(i + key.count)]) == key else { i += 1; continue }
            i += key.count
            skipSpace()
            guard i < b.count, b[i] == 0x3A else { continue search }
            i += 1
            skipSpace()
            if i < b.count, b[i] == 0x7B { break search }
        }
        guard i < b.count, b[i] == 0x7B else { return nil }
        i += 1
        var out: [(String, Int)] = []
        while true {
            skipSpace()
            guard i < b.count else { return nil }
            if b[i] == 0x7D { return out }
            if b[i] == 0x2C { i += 1; continue }
            guard b[i] == 0x22, let token = string() else { return nil }
            skipSpace()
            guard i < b.count, b[i] == 0x3A else { return nil }
            i += 1
            skipSpace()
            var value = 0, digits = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39, digits < 10 { value = value * 10 + Int(b[i] - 0x30); i += 1; digits += 1 }
            guard digits > 0 else { return nil }
            out.append((token, value))
        }
        /// A JSON string at i (at its opening quote), escapes decoded.
        func string() -> String? {
            i += 1
            var scalars = String.UnicodeScalarView(), raw: [UInt8] = []
            func flush() -> Bool {
                guard !raw.isEmpty else { return true }
                guard let s = String(validating: raw, as: UTF8.self) else { return false }
                scalars.append(contentsOf: s.unicodeScalars)
                raw = []
                return true
            }
            func hex4() -> UInt32? {
                guard i + 4 <= b.count, let v = UInt32(String(decoding: b[i..<(i + 4)], as: UTF8.self), radix: 16) else { return nil }
                i += 4
                return v
            }
            while i < b.count {
                let c = b[i]
                if c == 0x22 { i += 1; return flush() ? String(scalars) : nil }
                if c != 0x5C { raw.append(c); i += 1; continue }
                guard flush(), i + 1 < b.count else { return nil }
                let e = b[i + 1]
                i += 2
                switch e {
                case 0x22, 0x5C, 0x2F: scalars.append(Unicode.Scalar(e))
                case 0x62: scalars.append("\u{8}")
                case 0x66: scalars.append("\u{C}")
                case 0x6E: scalars.append("\n")
                case 0x72: scalars.append("\r")
                case 0x74: scalars.append("\t")
                case 0x75:
                    guard var v = hex4() else { return nil }
                    if (0xD800...0xDBFF).contains(v), i + 6 <= b.count, b[i] == 0x5C, b[i + 1] == 0x75 {
                        i += 2
                        guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(v) else { return nil }
                    scalars.append(scalar)
                default: return nil
                }
            }
            return nil
        }
    }
}

extension WordPieceTokenizer {
    /// The WordPiece tokenizer of a model directory: its tokenizer.json when that is a WordPiece one, else its
    /// vocab.txt, lower-cased unless tokenizer_config.json says `"do_lower_case": false`. Nil when the directory
    /// has neither (a decoder's directory).
    public static func load(modelDirectory directory: String) throws -> WordPieceTokenizer? {
        let json = (directory as NSString).appendingPathComponent("tokenizer.json")
        if let data = FileManager.default.contents(atPath: json),
           let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           (root["model"] as? [String: Any])?["type"] as? String == "WordPiece" {
            return try WordPieceTokenizer(tokenizerJSON: json)
        }
        let vocab = (directory as NSString).appendingPathComponent("vocab.txt")
        guard FileManager.default.fileExists(atPath: vocab) else { return nil }
        var lowercase = true
        if let data = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent("tokenizer_config.json")),
           let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let value = config["do_lower_case"] as? Bool {
            lowercase = value
        }
        return try WordPieceTokenizer(vocabTxt: vocab, lowercase: lowercase)
    }
}

extension WordPieceTokenizer {
    /// Writes a vocab.txt: one token a line, in id order (what `init(vocabTxt:)` reads).
    public func write(vocabTxt path: String) throws {
        try Data((vocabulary.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Writes vocab.txt (one token a line, in id order) and tokenizer_config.json (BertTokenizer, lower-cased or not)
    /// into a model directory, which `load(modelDirectory:)` and `transformers`' AutoTokenizer read back.
    public func write(toModelDirectory directory: String, maxLength: Int) throws {
        try write(vocabTxt: (directory as NSString).appendingPathComponent("vocab.txt"))
        let config: [String: Any] = ["tokenizer_class": "BertTokenizer", "do_lower_case": normalizer.lowercase,
                                     "strip_accents": normalizer.stripAccents, "tokenize_chinese_chars": normalizer.handleChineseChars,
                                     "model_max_length": maxLength, "unk_token": vocabulary[unknown], "cls_token": vocabulary[classifier],
                                     "sep_token": vocabulary[separator], "pad_token": vocabulary[padding],
                                     "mask_token": mask.map { vocabulary[$0] } ?? "[MASK]"]
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("tokenizer_config.json")), options: .atomic)
    }
}
