// word2vec's vocabulary and its two tables, as gensim builds them (`prepare_vocab`, `make_cum_table`):
//   - the words that occur at least min_count times, most frequent first (ties: the later first appearance
//     first, as gensim's lexsort leaves them);
//   - subsampling of frequent words (Mikolov et al. 2013, §2.3): a word of count v is kept with probability
//     (√(v / t) + 1) · t / v, t = sample × retained words, stored as that probability × (2³² − 1);
//   - the noise distribution of negative sampling: counts to the power 0.75, as a cumulative table over
//     [0, 2³¹ − 1] that a uniform draw is looked up in.

import Foundation

public struct Word2VecVocabulary: Sendable, Equatable {
    /// The words, most frequent first, and their counts in the corpus.
    public let words: [String]
    public let counts: [Int]

    public init(words: [String], counts: [Int]) {
        self.words = words
        self.counts = counts
    }

    /// The words of `corpus` occurring at least `minCount` times.
    public init(_ corpus: LineSentences, minCount: Int) {
        let kept = corpus.counts.indices.filter { corpus.counts[$0] >= minCount }
        let order = kept.sorted { a, b in
            corpus.counts[a] != corpus.counts[b] ? corpus.counts[a] > corpus.counts[b] : a > b
        }
        self.init(words: order.map { corpus.words[$0] }, counts: order.map { corpus.counts[$0] })
    }

    /// Words of the corpus that are in the vocabulary.
    public var retainedWords: Int { counts.reduce(0, +) }

    /// For each word, its probability of being kept × (2³² − 1); all kept when `sample` is 0.
    public func keepThresholds(sample: Double) -> [UInt32] {
        let retained = Double(retainedWords)
        let threshold = sample == 0 ? retained : sample < 1 ? sample * retained : Double(Int(sample * (3 + 5.0.squareRoot()) / 2))
        return counts.map { count in
            let v = Double(count)
            let probability = min(1, ((v / threshold).squareRoot() + 1) * (threshold / v))
            return UInt32(probability * 4_294_967_295)
        }
    }

    /// The cumulative noise table: entry i is round(Σ_{j ≤ i} count_j^exponent / Σ count^exponent × (2³¹ − 1)).
    public func noiseTable(exponent: Double = 0.75) -> [UInt32] {
        let domain = Double(Int32.max)
        let total = counts.reduce(0.0) { $0 + pow(Double($1), exponent) }
        var cumulative = 0.0
        return counts.map { count in
            cumulative += pow(Double(count), exponent)
            return UInt32((cumulative / total * domain).rounded(.toNearestOrEven))
        }
    }
}
