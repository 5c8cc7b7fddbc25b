// BERT's WordPiece tokenizer against Hugging Face `tokenizers` (scripts/make_wordpiece_goldens.py): every line
// of the parity corpus, with the uncased vocabulary of a real BERT (all-MiniLM-L6-v2) and a cased one trained by
// `tokenizers`, read from vocab.txt and from tokenizer.json; pairs with token type ids and truncation.

import Foundation
import Testing
import Tokenizers

@Suite("WordPiece")
struct WordPieceTests {
    struct Goldens: Decodable {
        struct Pair: Decodable { let a: Int; let b: Int; let ids: [Int]; let type_ids: [Int] }
        struct Set: Decodable { let lines: [[Int]]; let pairs: [Pair] }
        let uncased: Set, cased: Set
    }

    static let goldens = try! JSONDecoder().decode(Goldens.self, from: Data(contentsOf: Fixtures.url("wordpiece-goldens", "json")))
    /// The corpus's lines as Python's split("\n") gives them (on the newline scalar, not on Characters).
    static let lines = Fixtures.corpus.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        .map { String(String.UnicodeScalarView($0)) }

    static func tokenizers(_ name: String) throws -> [(String, WordPieceTokenizer)] {
        let lowercase = name == "uncased"
        let prefix = lowercase ? "bert-uncased" : "wordpiece-cased"
        return [("vocab.txt", try WordPieceTokenizer(vocabTxt: Fixtures.url(prefix + "-vocab", "txt").path, lowercase: lowercase)),
                ("tokenizer.json", try WordPieceTokenizer(tokenizerJSON: Fixtures.url(prefix + "-tokenizer", "json").path))]
    }

    @Test("ids equal tokenizers' on every line of the parity corpus", arguments: ["uncased", "cased"])
    func corpusParity(name: String) throws {
        let golden = name == "uncased" ? Self.goldens.uncased : Self.goldens.cased
        #expect(golden.lines.count == Self.lines.count)
        for (file, tokenizer) in try Self.tokenizers(name) {
            var wrong: [Int] = []
            for (i, line) in Self.lines.enumerated() where tokenizer.encode(line) != golden.lines[i] { wrong.append(i) }
            #expect(wrong.isEmpty, "\(name) \(file): \(wrong.count) of \(Self.lines.count) lines differ, first \(wrong.first.map { "line \($0 + 1): \(Self.lines[$0].prefix(80))" } ?? "")")
        }
    }

    @Test("pairs: [CLS] a [SEP] b [SEP], token types, truncation longest first", arguments: ["uncased", "cased"])
    func pairs(name: String) throws {
        let golden = name == "uncased" ? Self.goldens.uncased : Self.goldens.cased
        let tokenizer = try Self.tokenizers(name)[0].1
        for p in golden.pairs {
            let e = tokenizer.encode(Self.lines[p.a], pair: Self.lines[p.b], maxLength: 24)
            #expect(e.ids == p.ids && e.typeIds == p.type_ids, "lines \(p.a + 1) and \(p.b + 1)")
        }
    }

    @Test("the basic tokenizer's rules, one by one")
    func rules() throws {
        let t = try WordPieceTokenizer(vocabTxt: Fixtures.url("bert-uncased-vocab", "txt").path)
        func tokens(_ s: String) -> [String] { t.encode(s).map { t.vocabulary[$0] } }
        #expect(tokens("Héllo, WORLD!") == ["hello", ",", "world", "!"])               // lower case, accents, punctuation
        #expect(tokens("unaffable") == ["una", "##ffa", "##ble"])                       // greedy longest match first
        #expect(tokens("北京") == ["北", "京"])                                         // CJK one by one
        #expect(tokens("a\u{0}b\u{7}c\tline") == ["abc", "line"])                        // control characters dropped
        #expect(tokens(String(repeating: "a", count: 101)) == ["[UNK]"])                // over 100 characters
        #expect(tokens("the [MASK] sat") == ["the", "[MASK]", "sat"])                    // special tokens stay whole
        #expect(try t.decode(t.encode("Unaffable cats, sat.")) == "unaffable cats, sat.")
    }

    @Test("a vocabulary with a duplicate or no [UNK] is one clear error")
    func badVocabularies() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llm-wordpiece-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\nthe\n".write(toFile: dir + "/dup.txt", atomically: true, encoding: .utf8)
        try "[PAD]\n[CLS]\n[SEP]\nthe\n".write(toFile: dir + "/nounk.txt", atomically: true, encoding: .utf8)
        #expect(throws: TokenizerError.invalidFile(path: dir + "/dup.txt", line: 6, reason: "the token \"the\" appears twice (first on line 5)")) {
            try WordPieceTokenizer(vocabTxt: dir + "/dup.txt")
        }
        #expect(throws: TokenizerError.invalidFile(path: dir + "/nounk.txt", line: nil, reason: "the vocabulary has no [UNK] token")) {
            try WordPieceTokenizer(vocabTxt: dir + "/nounk.txt")
        }
    }
}
