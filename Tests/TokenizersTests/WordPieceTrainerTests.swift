// The WordPiece trainer learns what the plain algorithm learns (a readable version here recounts every pair at every
// merge), and what it learns tokenizes the text it came from without unknown words.

import Foundation
import Testing
import Tokenizers

@Suite("WordPiece training")
struct WordPieceTrainerTests {
    /// The algorithm as it reads: words as symbols (a first character, then "##" characters), count every adjacent
    /// pair weighted by its word's count, merge the most frequent (ties: the smaller symbol ids) everywhere, repeat.
    static func readableVocabulary(texts: [String], size: Int) -> [String] {
        var counts: [[Unicode.Scalar]: Int] = [:]
        for t in texts { for w in BertNormalizer.words(BertNormalizer().normalize(t)) { counts[Array(w.unicodeScalars), default: 0] += 1 } }
        let alphabet = Set(counts.keys.flatMap { $0 }).sorted { $0.value < $1.value }
        var symbols = WordPieceTrainer.bertSpecialTokens + alphabet.map { String($0) } + alphabet.map { "##" + String($0) }
        var vocabulary = symbols
        let words = counts.keys.sorted { $0.lexicographicallyPrecedes($1) { $0.value < $1.value } }
        var sequences = words.map { w in w.enumerated().map { i, c in symbols.firstIndex(of: (i == 0 ? "" : "##") + String(c))! } }
        while vocabulary.count < size {
            var pairs: [[Int]: Int] = [:]
            for (s, w) in zip(sequences, words) where s.count > 1 { for i in 0..<(s.count - 1) { pairs[[s[i], s[i + 1]], default: 0] += counts[w]! } }
            guard let best = pairs.max(by: { $0.value != $1.value ? $0.value < $1.value : $1.key.lexicographicallyPrecedes($0.key) })?.key
            else { break }
            let right = symbols[best[1]]
            let token = symbols[best[0]] + (right.hasPrefix("##") ? String(right.dropFirst(2)) : right)
            symbols.append(token)
            if !vocabulary.contains(where: { Array($0.utf8) == Array(token.utf8) }) { vocabulary.append(token) }
            sequences = sequences.map { s in
                var out: [Int] = [], i = 0
                while i < s.count {
                    if i + 1 < s.count, s[i] == best[0], s[i + 1] == best[1] { out.append(symbols.count - 1); i += 2 } else { out.append(s[i]); i += 1 }
                }
                return out
            }
        }
        return vocabulary
    }

    @Test("the fast trainer's vocabulary is the readable algorithm's, token for token")
    func fastEqualsReadable() throws {
        let text = String(Fixtures.verdict.prefix(6_000))
        let fast = try WordPieceTrainer.train(texts: [text], vocabularySize: 400)
        #expect(fast.vocabularySize == 400)
        #expect(fast.vocabulary == Self.readableVocabulary(texts: [text], size: 400))
    }

    @Test("specials first; the text it came from tokenizes without [UNK], frequent words whole; the same run twice")
    func learnsTheText() throws {
        let t = try WordPieceTrainer.train(texts: [Fixtures.verdict], vocabularySize: 1500)
        #expect(Array(t.vocabulary.prefix(5)) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
        #expect(t.vocabularySize == 1500 && t.mask == 4 && t.classifier == 2)
        let ids = t.encode(Fixtures.verdict)
        #expect(!ids.contains(t.unknown))
        for word in ["the", "and", "gisburn", "##ing"] { #expect(t.id(word) != nil, "\(word)") }
        #expect(ids.count < BertNormalizer.words(BertNormalizer().normalize(Fixtures.verdict)).count * 13 / 10, "most words are one piece")
        #expect(try t.decode(t.encode("I had always thought Jack Gisburn")) == "i had always thought jack gisburn")
        #expect(try WordPieceTrainer.train(texts: [Fixtures.verdict], vocabularySize: 1500).vocabulary == t.vocabulary)
        let cased = try WordPieceTrainer.train(texts: [Fixtures.verdict], vocabularySize: 1500, normalizer: BertNormalizer(lowercase: false))
        #expect(cased.id("Jack") != nil && t.id("Jack") == nil)
    }

    @Test("stops when there is nothing left to merge; writes a vocab.txt that reads back")
    func stopsAndRoundTrips() throws {
        let t = try WordPieceTrainer.train(texts: ["ab ab ab abc"], vocabularySize: 1000)
        #expect(t.vocabularySize < 1000 && t.id("abc") != nil)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wordpiece-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try t.write(toModelDirectory: dir, maxLength: 128)
        let back = try #require(try WordPieceTokenizer.load(modelDirectory: dir))
        #expect(back.vocabulary == t.vocabulary && back.normalizer == t.normalizer)
    }
}
