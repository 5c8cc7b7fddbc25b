// The attention family of chapter 3, from the simplest form to the one GPT uses. Each step adds one
// idea to the previous one:
//
//   simplifiedSelfAttention   scores = x x^T, weights = softmax(scores), context = weights x
//   SelfAttentionV1           trainable projections: q = x Wq, k = x Wk, v = x Wv; scores / sqrt(d_k)
//   SelfAttentionV2           the projections as Linear layers (optional bias)
//   CausalAttention           batches; a token may not look ahead (mask above the diagonal with -inf
//                             before the softmax); dropout on the weights in training
//   MultiHeadAttentionWrapper several CausalAttention heads side by side, outputs concatenated
//   MultiHeadAttention        one projection for all heads, split into heads, attend, merge, project
//
// Shapes: B batch, T tokens, D input width, H heads, hd = d_out / H per head.

import Foundation
import Tensors

/// The book's first step: attention with no trainable weights.
public struct SimplifiedSelfAttention {
    public let scores: Tensor   // (T, T)
    public let weights: Tensor  // (T, T)
    public let context: Tensor  // (T, D)

    /// x (T, D): every token attends to every token by plain dot products.
    public init(_ x: Tensor) {
        scores = x.matmul(x.transposed())
        weights = scores.softmax(axis: -1)
        context = weights.matmul(x)
    }
}

/// Self-attention with raw trainable weight matrices.
public final class SelfAttentionV1: Module {
    public let wQuery, wKey, wValue: Tensor // (D, d_out)

    public init(_ dIn: Int, _ dOut: Int, generator: inout SeededGenerator) {
        wQuery = Tensor.uniform([dIn, dOut], generator: &generator, requiresGrad: true)
        wKey = Tensor.uniform([dIn, dOut], generator: &generator, requiresGrad: true)
        wValue = Tensor.uniform([dIn, dOut], generator: &generator, requiresGrad: true)
    }

    override public var ownParameters: [(String, Tensor)] { [("W_query", wQuery), ("W_key", wKey), ("W_value", wValue)] }

    /// x (T, D) → context (T, d_out)
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let queries = x.matmul(wQuery), keys = x.matmul(wKey), values = x.matmul(wValue)
        let scores = queries.matmul(keys.transposed())                                  // (T, T)
        let weights = (scores / Float(keys.shape[1]).squareRoot()).softmax(axis: -1)  // scaled by sqrt(d_k)
        return weights.matmul(values)
    }
}

/// Self-attention with Linear projections.
public final class SelfAttentionV2: Module {
    public let query, key, value: Linear

    public init(_ dIn: Int, _ dOut: Int, qkvBias: Bool = false, generator: inout SeededGenerator) {
        query = Linear(dIn, dOut, bias: qkvBias, generator: &generator)
        key = Linear(dIn, dOut, bias: qkvBias, generator: &generator)
        value = Linear(dIn, dOut, bias: qkvBias, generator: &generator)
    }

    override public var children: [(String, Module)] { [("W_query", query), ("W_key", key), ("W_value", value)] }

    public func attentionWeights(_ x: Tensor) -> Tensor {
        let keys = key(x)
        return (query(x).matmul(keys.transposed()) / Float(keys.shape.last!).squareRoot()).softmax(axis: -1)
    }

    /// x (T, D) → context (T, d_out)
    public func callAsFunction(_ x: Tensor) -> Tensor { attentionWeights(x).matmul(value(x)) }
}

/// Batched self-attention where each token sees only itself and the tokens before it.
public final class CausalAttention: Module {
    public let query, key, value: Linear
    public let dropout: Dropout

    public init(_ dIn: Int, _ dOut: Int, dropout p: Float = 0, qkvBias: Bool = false, seed: UInt64 = 0,
                generator: inout SeededGenerator) {
        query = Linear(dIn, dOut, bias: qkvBias, generator: &generator)
        key = Linear(dIn, dOut, bias: qkvBias, generator: &generator)
        value = Linear(dIn, dOut, bias: qkvBias, generator: &generator)
        dropout = Dropout(p, seed: seed)
    }

    override public var children: [(String, Module)] {
        [("W_query", query), ("W_key", key), ("W_value", value), ("dropout", dropout)]
    }

    /// The masked, normalised attention weights (B, T, T) (dropout not applied).
    public func attentionWeights(_ x: Tensor) -> Tensor {
        let keys = key(x)
        let scores = query(x).matmul(keys.transposed())                           // (B, T, T)
        let t = scores.shape[scores.rank - 1]
        let future = Tensor.ones([t, t]).triu(1)                                 // 1 above the diagonal
        return (scores.maskedFill(future, value: -.infinity) / Float(keys.shape.last!).squareRoot()).softmax(axis: -1)
    }

    /// x (B, T, D) → context (B, T, d_out)
    public func callAsFunction(_ x: Tensor) -> Tensor { dropout(attentionWeights(x)).matmul(value(x)) }
}

/// Several causal attention heads run side by side; their contexts are concatenated.
public final class MultiHeadAttentionWrapper: Module {
    public let heads: [CausalAttention]

    public init(_ dIn: Int, _ dOut: Int, heads count: Int, dropout p: Float = 0, qkvBias: Bool = false,
                generator: inout SeededGenerator) {
        heads = (0..<count).map { CausalAttention(dIn, dOut, dropout: p, qkvBias: qkvBias, seed: UInt64($0), generator: &generator) }
    }

    override public var children: [(String, Module)] { heads.enumerated().map { ("heads.\($0.offset)", $0.element) } }

    /// x (B, T, D) → (B, T, heads * d_out)
    public func callAsFunction(_ x: Tensor) -> Tensor { Tensor.concat(heads.map { $0(x) }, axis: -1) }
}

/// Multi-head causal attention with one projection for all heads, as GPT uses it. The query, key and
/// value projections are fused into one Linear of width 3 * d_out (GPT-2's `c_attn`), so one GEMM
/// computes all three; `outProjection` is GPT-2's `c_proj`.
public final class MultiHeadAttention: Module {
    public private(set) var qkv: Linear            // (D, 3 * d_out): columns [query | key | value]
    public private(set) var outProjection: Linear  // (d_out, d_out)
    public let dropout: Dropout
    public let headCount: Int
    public let dOut: Int
    public let positions: PositionalEncodingKind
    /// Compute attention with the fused kernel (no (T, T) matrix) rather than the composed ops; the
    /// result is the same (dropout included: both use the same mask). Not used with an ALiBi bias.
    public var useFusedKernel = true

    public init(_ dIn: Int, _ dOut: Int, heads: Int, dropout p: Float = 0, qkvBias: Bool = false,
                positions: PositionalEncodingKind = .learned, initStd: Float? = nil, projectionStd: Float? = nil,
                seed: UInt64 = 0, generator: inout SeededGenerator) {
        precondition(dOut % heads == 0, "d_out (\(dOut)) must be divisible by the number of heads (\(heads))")
        qkv = Linear(dIn, 3 * dOut, bias: qkvBias, std: initStd, generator: &generator)
        outProjection = Linear(dOut, dOut, bias: true, std: projectionStd ?? initStd, generator: &generator)
        dropout = Dropout(p, seed: seed)
        headCount = heads
        self.dOut = dOut
        self.positions = positions
    }

    public init(qkv: Linear, outProjection: Linear, heads: Int, dropout p: Float, positions: PositionalEncodingKind, seed: UInt64) {
        self.qkv = qkv
        self.outProjection = outProjection
        dropout = Dropout(p, seed: seed)
        headCount = heads
        dOut = outProjection.outFeatures
        self.positions = positions
    }

    override public var children: [(String, Module)] { [("c_attn", qkv), ("c_proj", outProjection), ("attn_dropout", dropout)] }

    /// Queries, keys and values split into heads: each (B, H, T, hd). `start` is the position of the
    /// first token (non-zero when earlier keys are cached).
    public func projectHeads(_ x: Tensor, start: Int = 0) -> (q: Tensor, k: Tensor, v: Tensor) {
        let b = x.shape[0], t = x.shape[1], hd = dOut / headCount
        let parts = qkv(x).split([dOut, dOut, dOut], axis: -1)                        // 3 x (B, T, d_out)
        var (q, k, v) = (parts[0], parts[1], parts[2])
        q = q.reshaped([b, t, headCount, hd]).transposed(1, 2)                         // (B, H, T, hd)
        k = k.reshaped([b, t, headCount, hd]).transposed(1, 2)
        v = v.reshaped([b, t, headCount, hd]).transposed(1, 2)
        if positions == .rotary {
            q = PositionalEncoding.applyRotary(q, start: start)
            k = PositionalEncoding.applyRotary(k, start: start)
        }
        return (q, k, v)
    }

    /// The attention weights (B, H, Tq, Tk) of queries over keys, causal (dropout not applied).
    public func attentionWeights(q: Tensor, k: Tensor) -> Tensor {
        var scores = q.matmul(k.transposed()) / Float(q.shape.last!).squareRoot()    // (B, H, Tq, Tk)
        if positions == .alibi {
            scores = scores + PositionalEncoding.alibiBias(heads: headCount, queries: q.shape[2], keys: k.shape[2])
        }
        return scores.causalSoftmax()
    }

    /// Context vectors for queries over (possibly cached) keys and values → (B, Tq, d_out), projected.
    public func attend(q: Tensor, k: Tensor, v: Tensor) -> Tensor {
        let b = q.shape[0], tq = q.shape[2]
        let context: Tensor
        if useFusedKernel && positions != .alibi {
            let (p, key) = weightDropout()
            context = Tensor.scaledDotProductAttention(q, k, v, causal: true, dropout: p, dropoutKey: key,
                                                       dropoutFirstRow: dropout.firstRow) // (B, H, Tq, hd)
        } else {
            context = dropout(attentionWeights(q: q, k: k)).matmul(v)
        }
        return outProjection(context.transposed(1, 2).reshaped([b, tq, dOut]))        // merge heads
    }

    /// x (B, T, D) → (B, T, d_out)
    public func callAsFunction(_ x: Tensor) -> Tensor {
        if useFusedKernel && (positions == .learned || positions == .sinusoidal) {
            // GPT-2's case: the kernel reads the heads straight out of the fused projection and writes
            // them merged, so the split, transposes and merge above are never copied.
            let (p, key) = weightDropout()
            return outProjection(Tensor.causalSelfAttention(packed: qkv(x), heads: headCount, dropout: p, dropoutKey: key,
                                                            dropoutFirstRow: dropout.firstRow))
        }
        let (q, k, v) = projectHeads(x)
        return attend(q: q, k: k, v: v)
    }

    /// The dropout the fused kernel applies to the weights now (none outside training), and its mask's key.
    private func weightDropout() -> (p: Float, key: UInt64) {
        isTraining && dropout.p > 0 ? (dropout.p, dropout.nextKey()) : (0, 0)
    }

    /// Wraps both projections with LoRA adapters (the query, key and value blocks of `c_attn` each get
    /// their own, as the book's separate W_query, W_key, W_value would).
    public func applyLoRA(rank: Int, alpha: Float, generator: inout SeededGenerator) {
        qkv = LinearWithLoRA(qkv, rank: rank, alpha: alpha, parts: 3, generator: &generator)
        outProjection = LinearWithLoRA(outProjection, rank: rank, alpha: alpha, generator: &generator)
    }

    /// Folds any LoRA adapters into the projection weights.
    public func mergeLoRA() {
        qkv = qkv.merged()
        outProjection = outProjection.merged()
    }
}
