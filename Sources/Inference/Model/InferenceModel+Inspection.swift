// Looking inside a model as it serves: the attention weights of one block (the picture of chapter 3,
// softmax(q·kᵀ / √d) under the causal mask, per head) and the embedding of a piece of text (the mean of
// its tokens' rows), for the playground page of `llm serve`. The same numbers as GPTModel's, computed
// on the weights in whatever type they are stored.

import Foundation
import Models

extension InferenceModel {
    /// Attention weights of block `layer` over `tokens`: (heads, T, T) row-major, row i (a query) holding
    /// its weights over keys 0...i and zeros to the right of the diagonal.
    public func attentionWeights(_ tokens: [Int], layer: Int) -> [Float] {
        let t = tokens.count, heads = config.heads, hd = config.headDimension, group = heads / config.keyValueHeads
        let qWidth = heads * hd, kvWidth = config.keyValueHeads * hd, stride = qWidth + 2 * kvWidth
        precondition(t >= 1 && t <= config.contextLength && (0..<config.layers).contains(layer))
        var weights = [Float](repeating: 0, count: heads * t * t)
        let cache = KVSlots(slots: 1, layers: config.layers, capacity: t, width: kvWidth)
        let scale = 1 / Float(hd).squareRoot()
        _ = forward(tokens: tokens, slots: Array(repeating: 0, count: t), positions: Array(0..<t), cache: cache, logitsFor: []) { l, qkv in
            guard l == layer else { return true }
            weights.withUnsafeMutableBufferPointer { w in
                for h in 0..<heads {
                    for i in 0..<t {
                        let q = qkv + i * stride + h * hd, row = w.baseAddress! + (h * t + i) * t
                        var largest = -Float.infinity
                        for j in 0...i {
                            let k = qkv + j * stride + qWidth + (h / group) * hd // the key head of h's group
                            var dot: Float = 0
                            for d in 0..<hd { dot += q[d] * k[d] }
                            row[j] = dot * scale
                            largest = max(largest, row[j])
                        }
                        var sum: Float = 0
                        for j in 0...i { row[j] = Foundation.exp(row[j] - largest); sum += row[j] }
                        for j in 0...i { row[j] /= sum }
                    }
                }
            }
            return false
        }
        return weights
    }

    /// The mean of the token embedding rows of `tokens` (C numbers).
    public func meanEmbedding(_ tokens: [Int]) -> [Float] {
        let c = config.embeddingSize
        var sum = [Float](repeating: 0, count: c), row = [Float](repeating: 0, count: c)
        for id in tokens {
            row.withUnsafeMutableBufferPointer { tokenEmbedding.row(id, into: $0.baseAddress!) }
            for i in 0..<c { sum[i] += row[i] }
        }
        return sum.map { $0 / Float(max(tokens.count, 1)) }
    }
}
