// Picking the next token from one position's logits. Greedy (temperature 0) takes the largest logit;
// otherwise the logits are divided by the temperature, optionally cut to the k largest (top-k) and then
// to the smallest set of the largest whose probabilities add up to p (top-p, nucleus sampling), and a
// token is drawn from what is left with a seeded generator.
//
// The cut-offs need the largest logits in order, but never all of them: sorting GPT-2's 50,257 logits
// for every token took milliseconds, more than a decoding step of a small model. Only the tokens that can
// survive are sorted: those at or above the k-th largest logit (found by quickselect, one pass on
// average), and for top-p those above the floor a histogram of the probabilities says holds mass p.
// Such a set is always the head of the whole vocabulary's order, and it is sorted stably from vocabulary
// order, so ties go to the smaller token id exactly as a sort of the whole vocabulary would have it.

import Foundation
import Tensors

/// Picks the next token from one position's logits.
public func sampleToken(_ logits: [Float], options: SamplingOptions, generator: inout SeededGenerator) -> Int {
    if options.temperature == 0 { return largest(logits) }
    if cutOffs(options, vocabulary: logits.count) == nil {
        // Plain temperature: draw straight from the unsorted distribution (one pass over the vocabulary).
        let inverse = 1 / options.temperature, top = logits.max()! * inverse
        var weights = [Float](repeating: 0, count: logits.count), total: Float = 0
        for i in logits.indices {
            weights[i] = Foundation.exp(logits[i] * inverse - top)
            total += weights[i]
        }
        // NaN or infinite logits (a broken model file) leave no distribution to draw from.
        guard total > 0, total.isFinite else { return largest(logits) }
        var r = generator.nextUniform() * total
        for i in weights.indices {
            r -= weights[i]
            if r < 0 { return i }
        }
        return weights.lastIndex { $0 > 0 }!
    }
    let candidates = samplingCandidates(logits, options: options)
    var r = generator.nextUniform() * candidates.reduce(0) { $0 + $1.weight }
    for candidate in candidates {
        r -= candidate.weight
        if r < 0 { return candidate.token }
    }
    return candidates[candidates.count - 1].token
}

/// The tokens a draw can pick, most likely first, each with a weight proportional to its probability
/// (exp of its logit / temperature less the largest): every token for plain temperature, what top-k and
/// top-p keep otherwise, the largest logit alone for greedy. Never empty.
public func samplingCandidates(_ logits: [Float], options: SamplingOptions) -> [(token: Int, weight: Float)] {
    guard options.temperature > 0 else { return [(largest(logits), 1)] }
    // NaN counts as the least likely, and ±infinity (after dividing) as the largest finite values, so the
    // weights below are numbers.
    let scaled = logits.map { x -> Float in
        let s = x / options.temperature
        return s.isNaN ? -.greatestFiniteMagnitude : Swift.min(Swift.max(s, -.greatestFiniteMagnitude), .greatestFiniteMagnitude)
    }
    let top = scaled.max()!
    let (k, p) = cutOffs(options, vocabulary: logits.count) ?? (nil, nil)
    /// The tokens whose scaled logit is at least `floor`, largest first, ties in vocabulary order.
    func sortedHead(atLeast floor: Float) -> [Int] {
        var keys: [UInt64] = []
        for (token, value) in scaled.enumerated() where value >= floor { keys.append(descendingKey(value, token)) }
        keys.sort()
        return keys.map { Int($0 & 0xFFFF_FFFF) }
    }
    /// The shortest head of `order` whose weights reach p of `total`; nil when all of it does not.
    func nucleus(_ order: [Int], _ weights: [Float], total: Float, p: Float) -> Int? {
        var cumulative: Float = 0
        for n in order.indices {
            cumulative += weights[n] / total
            if cumulative >= p { return n + 1 }
        }
        return nil
    }

    var kept: [Int], weights: [Float]
    if let k {
        kept = Array(sortedHead(atLeast: kthLargest(scaled, k)).prefix(k))
        weights = kept.map { Foundation.exp(scaled[$0] - top) }
        if let p, let n = nucleus(kept, weights, total: weights.reduce(0, +), p: p) {
            kept.removeLast(kept.count - n)
            weights.removeLast(weights.count - n)
        }
    } else if let p {
        // Top-p over the whole vocabulary. A histogram of the tokens' distances below the largest logit
        // (half-nat bins) says how far down mass p lies; the tokens above that bin's floor are sorted, and
        // hold the nucleus unless rounding put it a hair lower, when every token is.
        let all = scaled.map { Foundation.exp($0 - top) }
        var total: Float = 0, bins = [Float](repeating: 0, count: 64)
        for (token, value) in scaled.enumerated() {
            total += all[token]
            let distance = (top - value) * 2
            bins[distance < 63 ? Int(distance) : 63] += all[token]
        }
        var reach: Float = 0, bin = 0
        while bin < 63 {
            reach += bins[bin]
            if reach >= p * total { break }
            bin += 1
        }
        var floor = bin < 63 ? top - Float(bin + 1) / 2 : -.infinity
        while true {
            kept = sortedHead(atLeast: floor)
            weights = kept.map { all[$0] }
            if let n = nucleus(kept, weights, total: total, p: p) {
                kept.removeLast(kept.count - n)
                weights.removeLast(weights.count - n)
                break
            }
            if floor == -.infinity { break } // every token, and the sum still a hair short of p: all kept
            floor = -.infinity
        }
    } else {
        kept = sortedHead(atLeast: -.infinity)
        weights = kept.map { Foundation.exp(scaled[$0] - top) }
    }
    return zip(kept, weights).map { ($0, $1) }
}

/// The cut-offs that apply: top-k below the vocabulary's size, top-p below 1; nil when neither does.
private func cutOffs(_ options: SamplingOptions, vocabulary: Int) -> (k: Int?, p: Float?)? {
    let k = options.topK.flatMap { $0 > 0 && $0 < vocabulary ? $0 : nil }
    let p = options.topP.flatMap { $0 < 1 ? $0 : nil }
    return k == nil && p == nil ? nil : (k, p)
}

/// A sort key whose ascending order is descending `value`, then ascending `token`: the order a stable sort
/// of the vocabulary by logit gives (integer keys sort several times faster than indices by a closure).
private func descendingKey(_ value: Float, _ token: Int) -> UInt64 {
    let bits = (value == 0 ? 0 : value).bitPattern // -0 and +0 are one value
    let ascending = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000 // unsigned order = float order
    return UInt64(~ascending) << 32 | UInt64(token)
}

/// The index of the largest logit (the first of equals).
private func largest(_ logits: [Float]) -> Int { logits.indices.max { logits[$0] < logits[$1] }! }

/// The k-th largest of `values` (k from 1), by quickselect with three-way partitions: O(n) on average.
/// The values must not be NaN (a NaN equals no pivot, and the partitions would not shrink).
func kthLargest(_ values: [Float], _ k: Int) -> Float {
    precondition(k >= 1 && k <= values.count)
    var v = values, lo = 0, hi = v.count, k = k // the k-th largest of v[lo..<hi]
    while true {
        let a = v[lo], b = v[(lo + hi) / 2], c = v[hi - 1]
        let pivot = Swift.max(Swift.min(a, b), Swift.min(Swift.max(a, b), c)) // median of three
        // v[lo..<above] > pivot, v[above..<i] == pivot, v[below..<hi] < pivot.
        var above = lo, i = lo, below = hi
        while i < below {
            if v[i] > pivot {
                v.swapAt(i, above)
                above += 1
                i += 1
            } else if v[i] < pivot {
                below -= 1
                v.swapAt(i, below)
            } else {
                i += 1
            }
        }
        if k <= above - lo {
            hi = above
        } else if k <= below - lo {
            return pivot
        } else {
            k -= below - lo
            lo = below
        }
    }
}
