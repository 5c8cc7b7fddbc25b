// Word vectors looked up by word, as gensim's `KeyedVectors`: nearest neighbours by cosine similarity, and
// analogies by vector arithmetic (king − man + woman ≈ queen: Mikolov et al. 2013's "3CosAdd").
// Words are kept in the order of the file or the vocabulary: most frequent first, which is what
// `restrictTo` (gensim's `restrict_vocab`) relies on.

import Foundation

public struct WordVectors: Sendable {
    public let words: [String]
    public let dimension: Int
    /// words.count × dimension, row-major.
    public let values: [Float]
    /// Each row divided by its length (zero rows stay zero).
    public let unitValues: [Float]
    private let lookup: [String: Int]

    public init(words: [String], dimension: Int, values: [Float]) {
        precondition(values.count == words.count * dimension, "one row of \(dimension) values per word")
        self.words = words
        self.dimension = dimension
        self.values = values
        var lookup: [String: Int] = [:]
        for (i, w) in words.enumerated() where lookup[w] == nil { lookup[w] = i } // a repeated word: the first (most frequent) wins
        self.lookup = lookup
        var unit = values
        for r in 0..<words.count {
            var norm: Float = 0
            for k in 0..<dimension { norm += values[r * dimension + k] * values[r * dimension + k] }
            let scale = norm > 0 ? 1 / norm.squareRoot() : 0
            for k in 0..<dimension { unit[r * dimension + k] *= scale }
        }
        unitValues = unit
    }

    public func index(of word: String) -> Int? { lookup[word] }

    public func vector(_ word: String) -> [Float]? {
        index(of: word).map { Array(values[$0 * dimension..<($0 + 1) * dimension]) }
    }

    /// Cosine similarity of two words in the vocabulary.
    public func similarity(_ a: Int, _ b: Int) -> Float {
        var s: Float = 0
        for k in 0..<dimension { s += unitValues[a * dimension + k] * unitValues[b * dimension + k] }
        return s
    }

    /// The `count` words most similar to the mean of the unit vectors of `positive` minus those of `negative`
    /// (gensim's `most_similar`), leaving out the query words; only the first `restrictTo` words are searched.
    public func mostSimilar(positive: [Int], negative: [Int] = [], count: Int = 10, restrictTo: Int? = nil) -> [(word: String, similarity: Float)] {
        let d = dimension
        var query = [Float](repeating: 0, count: d)
        for (i, weight) in positive.map({ ($0, Float(1)) }) + negative.map({ ($0, Float(-1)) }) {
            for k in 0..<d { query[k] += weight * unitValues[i * d + k] }
        }
        return nearest(query, count: count, restrictTo: restrictTo, excluding: Set(positive + negative))
    }

    /// The `count` words whose vectors have the largest cosine similarity with `query`.
    public func nearest(_ query: [Float], count: Int = 10, restrictTo: Int? = nil, excluding: Set<Int> = []) -> [(word: String, similarity: Float)] {
        let d = dimension
        var norm: Float = 0
        for k in 0..<d { norm += query[k] * query[k] }
        let unit = norm > 0 ? query.map { $0 / norm.squareRoot() } : query
        let limit = min(restrictTo ?? words.count, words.count)
        var best: [(Int, Float)] = []
        for r in 0..<limit where !excluding.contains(r) {
            var s: Float = 0
            for k in 0..<d { s += unit[k] * unitValues[r * d + k] }
            if best.count < count || s > best[best.count - 1].1 {
                let at = best.firstIndex { s > $0.1 } ?? best.count
                best.insert((r, s), at: at)
                if best.count > count { best.removeLast() }
            }
        }
        return best.map { (words[$0.0], $0.1) }
    }

    /// b − a + c: the words that are to c what b is to a.
    public func analogy(_ a: Int, _ b: Int, _ c: Int, count: Int = 10, restrictTo: Int? = nil) -> [(word: String, similarity: Float)] {
        mostSimilar(positive: [b, c], negative: [a], count: count, restrictTo: restrictTo)
    }
}
