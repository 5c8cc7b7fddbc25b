// The word2vec updates as the paper and the book describe them, in plain Swift: the readable twin of the
// fast loop in CKernels/word2vec.c, line for line and in the same random order, so the tests can run
// both on one job and compare the vectors.
//
// Negative sampling (Mikolov et al. 2013): for an input vector h and a target word w, raise σ(h · v'_w)
// towards 1 and, for k noise words n drawn from the unigram^0.75 distribution, σ(h · v'_n) towards 0.
// The loss is  −log σ(h · v'_w) − Σ_n log σ(−h · v'_n);  its gradient in v'_x is (σ(h · v'_x) − label) h
// and in h the sum of (σ(h · v'_x) − label) v'_x. Each step moves against it by the learning rate α.
//   skip-gram: h is the vector of one context word, the target is the centre word — once per context word;
//   CBOW:      h is the mean of the context words' vectors, the target is the centre word, and every
//              context word takes h's whole update.

import Foundation

/// The two matrices word2vec trains: `input` (the word vectors, "syn0") and `output` (the vectors of the
/// words as predicted targets, "syn1neg"), both vocabulary × dimension, row-major.
public struct Word2VecWeights: Sendable, Equatable {
    public let dimension: Int
    public var input: [Float]
    public var output: [Float]

    public init(dimension: Int, input: [Float], output: [Float]) {
        self.dimension = dimension
        self.input = input
        self.output = output
    }
}

/// What one job of training needs besides the weights.
public struct Word2VecTables: Sendable {
    public var noise: [UInt32]       // cumulative noise table (Word2VecVocabulary.noiseTable)
    public var keep: [UInt32]?       // subsampling thresholds (Word2VecVocabulary.keepThresholds), nil keeps every word
    public var window: Int
    public var negative: Int
    public var cbow: Bool
    public var shrinkWindows = true

    public init(noise: [UInt32], keep: [UInt32]?, window: Int, negative: Int, cbow: Bool, shrinkWindows: Bool = true) {
        (self.noise, self.keep, self.window, self.negative, self.cbow, self.shrinkWindows) = (noise, keep, window, negative, cbow, shrinkWindows)
    }
}

/// gensim's random numbers: a 48-bit linear congruential generator (java.util.Random's constants).
public struct Word2VecRandom: Sendable {
    public var state: UInt64
    public init(state: UInt64) { self.state = state & 0xFFFF_FFFF_FFFF }
    public mutating func step() { state = (state &* 25_214_903_917 &+ 11) & 0xFFFF_FFFF_FFFF }
    /// The next 32 random bits.
    public mutating func next32() -> UInt32 {
        let value = UInt32(truncatingIfNeeded: state >> 16)
        step()
        return value
    }
}

public enum Word2VecUpdates {
    /// A noise word: the first whose cumulative count reaches a uniform draw (gensim's bisect_left).
    public static func drawNoise(_ tables: Word2VecTables, random: inout Word2VecRandom) -> Int {
        let draw = UInt32((random.state >> 16) % UInt64(tables.noise.last!))
        random.step()
        return tables.noise.firstIndex { $0 >= draw }!
    }

    /// Moves h (through `hError`) and the targets' output vectors for one target word and its noise words.
    public static func negativeSampling(_ h: [Float], target: Int, weights: inout Word2VecWeights, tables: Word2VecTables,
                                 alpha: Float, random: inout Word2VecRandom, hError: inout [Float]) {
        let d = weights.dimension
        for n in 0...tables.negative {
            var word = target, label: Float = 1
            if n > 0 {
                word = drawNoise(tables, random: &random)
                if word == target { continue }
                label = 0
            }
            var f: Float = 0
            for i in 0..<d { f += h[i] * weights.output[word * d + i] }
            if f <= -6 || f >= 6 { continue } // saturated: σ is 0 or 1 to float precision, as gensim skips it
            let g = (label - 1 / (1 + Foundation.exp(-f))) * alpha
            for i in 0..<d { hError[i] += g * weights.output[word * d + i] }
            for i in 0..<d { weights.output[word * d + i] += g * h[i] }
        }
    }

    /// One job: sentences of vocabulary indices (`ends[s]` one past sentence s), learning rate `alpha`.
    /// Returns the words kept by subsampling.
    @discardableResult
    public static func train(words: [Int32], ends: [Int], weights: inout Word2VecWeights, tables: Word2VecTables, alpha: Float,
                             random: inout Word2VecRandom) -> Int {
        let d = weights.dimension
        // 1. Subsampling: a frequent word is dropped with probability 1 − keep.
        var kept: [Int] = [], keptEnds: [Int] = [], start = 0
        for end in ends {
            for w in words[start..<end] where tables.keep.map({ $0[Int(w)] >= random.next32() }) ?? true { kept.append(Int(w)) }
            keptEnds.append(kept.count)
            start = end
        }
        // 2. Each position's window shrinks by a random b in [0, window): nearer words are seen more often.
        let shrink = kept.map { _ in tables.shrinkWindows ? Int(random.next32() % UInt32(tables.window)) : 0 }
        // 3. The updates, sentence by sentence.
        var begin = 0
        for end in keptEnds {
            for i in begin..<end {
                let context = (max(begin, i - tables.window + shrink[i])..<min(end, i + tables.window + 1 - shrink[i])).filter { $0 != i }
                if !tables.cbow {
                    for j in context {
                        let h = Array(weights.input[kept[j] * d..<(kept[j] + 1) * d])
                        var error = [Float](repeating: 0, count: d)
                        negativeSampling(h, target: kept[i], weights: &weights, tables: tables, alpha: alpha, random: &random, hError: &error)
                        for k in 0..<d { weights.input[kept[j] * d + k] += error[k] }
                    }
                } else {
                    var h = [Float](repeating: 0, count: d)
                    for j in context { for k in 0..<d { h[k] += weights.input[kept[j] * d + k] } }
                    let inverse: Float = context.isEmpty ? 1 : 1 / Float(context.count)
                    for k in 0..<d { h[k] *= inverse }
                    var error = [Float](repeating: 0, count: d)
                    negativeSampling(h, target: kept[i], weights: &weights, tables: tables, alpha: alpha, random: &random, hError: &error)
                    for j in context { for k in 0..<d { weights.input[kept[j] * d + k] += error[k] } }
                }
            }
            begin = end
        }
        return kept.count
    }

    /// The negative-sampling loss of one input vector h, target and noise words (for the gradient check).
    public static func loss(h: [Float], output: [Float], dimension d: Int, target: Int, noise: [Int]) -> Double {
        func score(_ w: Int) -> Double { (0..<d).reduce(0.0) { $0 + Double(h[$1]) * Double(output[w * d + $1]) } }
        func logSigmoid(_ x: Double) -> Double { -Foundation.log(1 + Foundation.exp(-x)) }
        return -logSigmoid(score(target)) - noise.reduce(0.0) { $0 + logSigmoid(-score($1)) }
    }
}
