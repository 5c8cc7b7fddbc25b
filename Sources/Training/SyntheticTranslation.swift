// A translation task that needs no outside data, for the story before self-attention: English-like sentences from
// a small grammar, "translated" word by word into a made-up language whose adjectives follow their noun (as in
// French: "the red fox" → "lo vulpo ruja"). Sentences of one clause are short; clauses joined by "and" make them
// as long as wanted, which is where an encoder-decoder without attention loses the beginning of the sentence.
// Deterministic for a seed; every sentence has one right translation, so exact-match accuracy is well defined.

import Foundation
import Tensors

public enum SyntheticTranslation {
    /// English word → the made-up language's word, by part of speech.
    static let determiners = [("the", "lo"), ("a", "un"), ("every", "cada"), ("no", "nul")]
    static let adjectives = [("red", "ruja"), ("small", "peta"), ("old", "velja"), ("quick", "rapa"), ("green", "verda"),
                             ("happy", "gaja"), ("dark", "nigra"), ("tall", "alta")]
    static let nouns = [("fox", "vulpo"), ("dog", "hundo"), ("cat", "kato"), ("bird", "birdo"), ("child", "infano"),
                        ("farmer", "farmisto"), ("river", "rivero"), ("house", "domo"), ("tree", "arbo"), ("horse", "ĉevalo")]
    static let verbs = [("sees", "vidas"), ("follows", "sekvas"), ("likes", "ŝatas"), ("finds", "trovas"), ("hears", "aŭdas"),
                        ("paints", "pentras")]
    static let conjunction = ("and", "kaj")

    /// A sentence pair: the English source and its translation, as words.
    public struct Pair: Equatable, Sendable {
        public let source: [String]
        public let target: [String]
        public init(source: [String], target: [String]) { (self.source, self.target) = (source, target) }
    }

    /// One sentence of `clauses` clauses ("det [adj] noun verb det [adj] noun", joined by "and").
    public static func sentence(clauses: Int, generator g: inout SeededGenerator) -> Pair {
        var source: [String] = [], target: [String] = []
        func pick<T>(_ list: [T]) -> T { list[Int(g.next() % UInt64(list.count))] }
        func nounPhrase() {
            let (d, n) = (pick(determiners), pick(nouns))
            let adjective = g.next() % 2 == 0 ? pick(adjectives) : nil
            source += [d.0] + (adjective.map { [$0.0] } ?? []) + [n.0]
            target += [d.1, n.1] + (adjective.map { [$0.1] } ?? []) // the adjective follows its noun
        }
        for c in 0..<clauses {
            if c > 0 { (source, target) = (source + [conjunction.0], target + [conjunction.1]) }
            nounPhrase()
            let v = pick(verbs)
            (source, target) = (source + [v.0], target + [v.1])
            nounPhrase()
        }
        return Pair(source: source, target: target)
    }

    /// `count` pairs of 1 to `maxClauses` clauses (equally often), from `seed`.
    public static func pairs(count: Int, maxClauses: Int, seed: UInt64) -> [Pair] {
        var g = SeededGenerator(seed: seed)
        return (0..<count).map { _ in sentence(clauses: 1 + Int(g.next() % UInt64(maxClauses)), generator: &g) }
    }

    /// The words of each side, after the reserved ids: 0 padding, 1 begin, 2 end ("<pad>", "<s>", "</s>").
    public static let reserved = ["<pad>", "<s>", "</s>"]
    public static var sourceVocabulary: [String] {
        reserved + (determiners + adjectives + nouns + verbs + [conjunction]).map(\.0)
    }
    public static var targetVocabulary: [String] {
        reserved + (determiners + adjectives + nouns + verbs + [conjunction]).map(\.1)
    }
}

/// Words ↔ ids for one side of a translation task; unknown words are refused by name.
public struct WordVocabulary: Sendable {
    public let words: [String]
    let ids: [String: Int]

    public init(_ words: [String]) throws {
        var ids: [String: Int] = [:]
        for (i, w) in words.enumerated() {
            guard ids[w] == nil else { throw DatasetError(description: "the vocabulary has \"\(w)\" twice") }
            ids[w] = i
        }
        (self.words, self.ids) = (words, ids)
    }

    public var count: Int { words.count }

    public func encode(_ words: [String]) throws -> [Int] {
        try words.map { w in
            guard let id = ids[w] else { throw DatasetError(description: "\"\(w)\" is not in the vocabulary") }
            return id
        }
    }

    public func decode(_ ids: [Int]) -> [String] { ids.map { $0 >= 0 && $0 < words.count ? words[$0] : "<\($0)>" } }
}

/// A batch for an encoder-decoder, teacher-forced: sources padded with 0 (and their lengths), the decoder's inputs
/// (begin, y_1 … y_n, padding) and its targets (y_1 … y_n, end, then -100, which the loss ignores).
public struct TranslationBatch {
    public let source: [Int], sourceLengths: [Int], targetInputs: [Int], targets: [Int]

    public init(_ pairs: [(source: [Int], target: [Int])], begin: Int = 1, end: Int = 2) {
        let s = pairs.map(\.source.count).max() ?? 0, t = (pairs.map(\.target.count).max() ?? 0) + 1
        source = pairs.flatMap { $0.source + [Int](repeating: 0, count: s - $0.source.count) }
        sourceLengths = pairs.map(\.source.count)
        targetInputs = pairs.flatMap { [begin] + $0.target + [Int](repeating: 0, count: t - 1 - $0.target.count) }
        targets = pairs.flatMap { $0.target + [end] + [Int](repeating: -100, count: t - 1 - $0.target.count) }
    }
}
