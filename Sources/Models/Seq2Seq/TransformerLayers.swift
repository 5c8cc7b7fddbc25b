// The layers of the original Transformer (Vaswani et al. 2017, "Attention Is All You Need"), the encoder-decoder
// "first developed for machine translation" that the notes' chapter 3 points to. Post-norm, as in the paper and in
// torch.nn.Transformer's default:
//
//   encoder layer   x = LN(x + Dropout(SelfAttention(x)))                 every source position sees every token
//                   x = LN(x + Dropout(W2 · Dropout(ReLU(W1 x))))
//   decoder layer   y = LN(y + Dropout(SelfAttention(y, causal)))         a target position sees only earlier ones
//                   y = LN(y + Dropout(CrossAttention(y, encoder states)))  every target position sees the source
//                   y = LN(y + Dropout(W2 · Dropout(ReLU(W1 y))))
//
// Cross-attention is Bahdanau's idea with the dot product of self-attention: the queries come from the decoder, the
// keys and values from the encoder's states.

import NN
import Tensors

/// Multi-head attention of queries from `x` over keys and values from `memory` (x itself for self-attention), with
/// separate projections W_q, W_k, W_v and W_o (torch.nn.MultiheadAttention's in_proj split in three).
public final class TransformerAttention: Module {
    public let query: Linear, key: Linear, value: Linear, output: Linear
    public let heads: Int
    let dropout: Dropout

    /// What each query may see: every key, the keys up to its own position, or each batch row's first n keys.
    public enum Mask { case none, causal, keyLengths([Int]) }

    public init(_ d: Int, heads: Int, dropout p: Float, generator: inout SeededGenerator) {
        precondition(d % heads == 0, "the model size \(d) must be divisible by the heads \(heads)")
        query = Linear(d, d, generator: &generator)
        key = Linear(d, d, generator: &generator)
        value = Linear(d, d, generator: &generator)
        output = Linear(d, d, generator: &generator)
        self.heads = heads
        dropout = Dropout(p, seed: generator.next())
    }

    override public var children: [(String, Module)] {
        [("query", query), ("key", key), ("value", value), ("output", output), ("dropout", dropout)]
    }

    /// (B, T, D) → (B, H, T, D/H)
    private func split(_ y: Tensor) -> Tensor {
        let (b, t, d) = (y.shape[0], y.shape[1], y.shape[2])
        return y.reshaped([b, t, heads, d / heads]).transposed(1, 2)
    }

    /// x (B, Tq, D) over memory (B, Tk, D) → (B, Tq, D), on the fused attention kernel (no Tq × Tk matrix kept).
    public func callAsFunction(_ x: Tensor, memory: Tensor, mask: Mask) -> Tensor {
        let (q, k, v) = (split(query(x)), split(key(memory)), split(value(memory)))
        let (p, dropoutKey) = isTraining && dropout.p > 0 ? (dropout.p, dropout.nextKey()) : (0, 0)
        let context: Tensor
        switch mask {
        case .none, .causal:
            let causal = if case .causal = mask { true } else { false }
            context = Tensor.scaledDotProductAttention(q, k, v, causal: causal, dropout: p, dropoutKey: dropoutKey)
        case .keyLengths(let lengths):
            context = Tensor.paddedAttention(q, k, v, keyLengths: lengths, dropout: p, dropoutKey: dropoutKey)
        }
        let (b, tq, d) = (x.shape[0], x.shape[1], x.shape[2])
        return output(context.transposed(1, 2).reshaped([b, tq, d]))
    }

    /// softmax(q · kᵀ / √d) for one unpadded pair x (1, Tq, D), memory (1, Tk, D): (H, Tq, Tk), to draw.
    public func weights(_ x: Tensor, memory: Tensor, causal: Bool) -> Tensor {
        let (q, k) = (split(query(x)), split(key(memory)))
        let scores = q.matmul(k.transposed()) * (1 / Float(q.shape[3]).squareRoot())
        return (causal ? scores.causalSoftmax() : scores.softmax()).reshaped([heads, x.shape[1], memory.shape[1]])
    }
}

/// The position-wise feed-forward network W2 · Dropout(ReLU(W1 x)).
public final class TransformerFeedForward: Module {
    public let linear1: Linear, linear2: Linear
    let dropout: Dropout

    public init(_ d: Int, hidden: Int, dropout p: Float, generator: inout SeededGenerator) {
        linear1 = Linear(d, hidden, generator: &generator)
        linear2 = Linear(hidden, d, generator: &generator)
        dropout = Dropout(p, seed: generator.next())
    }

    override public var children: [(String, Module)] { [("linear1", linear1), ("linear2", linear2), ("dropout", dropout)] }

    public func callAsFunction(_ x: Tensor) -> Tensor { linear2(dropout(linear1(x).relu())) }
}

public final class TransformerEncoderLayer: Module {
    public let selfAttention: TransformerAttention, feedForward: TransformerFeedForward
    public let norm1: LayerNorm, norm2: LayerNorm
    let dropout1: Dropout, dropout2: Dropout

    public init(_ d: Int, heads: Int, feedForward hidden: Int, dropout p: Float, generator: inout SeededGenerator) {
        selfAttention = TransformerAttention(d, heads: heads, dropout: p, generator: &generator)
        feedForward = TransformerFeedForward(d, hidden: hidden, dropout: p, generator: &generator)
        (norm1, norm2) = (LayerNorm(d), LayerNorm(d))
        (dropout1, dropout2) = (Dropout(p, seed: generator.next()), Dropout(p, seed: generator.next()))
    }

    override public var children: [(String, Module)] {
        [("self_attn", selfAttention), ("feed_forward", feedForward), ("norm1", norm1), ("norm2", norm2),
         ("dropout1", dropout1), ("dropout2", dropout2)]
    }

    /// x (B, S, D), each row's first `lengths[b]` positions tokens and the rest padding.
    public func callAsFunction(_ x: Tensor, lengths: [Int]) -> Tensor {
        let x = norm1(x + dropout1(selfAttention(x, memory: x, mask: .keyLengths(lengths))))
        return norm2(x + dropout2(feedForward(x)))
    }
}

public final class TransformerDecoderLayer: Module {
    public let selfAttention: TransformerAttention, crossAttention: TransformerAttention, feedForward: TransformerFeedForward
    public let norm1: LayerNorm, norm2: LayerNorm, norm3: LayerNorm
    let dropout1: Dropout, dropout2: Dropout, dropout3: Dropout

    public init(_ d: Int, heads: Int, feedForward hidden: Int, dropout p: Float, generator: inout SeededGenerator) {
        selfAttention = TransformerAttention(d, heads: heads, dropout: p, generator: &generator)
        crossAttention = TransformerAttention(d, heads: heads, dropout: p, generator: &generator)
        feedForward = TransformerFeedForward(d, hidden: hidden, dropout: p, generator: &generator)
        (norm1, norm2, norm3) = (LayerNorm(d), LayerNorm(d), LayerNorm(d))
        (dropout1, dropout2, dropout3) = (Dropout(p, seed: generator.next()), Dropout(p, seed: generator.next()), Dropout(p, seed: generator.next()))
    }

    override public var children: [(String, Module)] {
        [("self_attn", selfAttention), ("cross_attn", crossAttention), ("feed_forward", feedForward),
         ("norm1", norm1), ("norm2", norm2), ("norm3", norm3), ("dropout1", dropout1), ("dropout2", dropout2), ("dropout3", dropout3)]
    }

    /// y (B, T, D) over the encoder's states (B, S, D) with the source lengths. Padding at the end of a target row
    /// needs no mask: under the causal mask no token sees a later position.
    public func callAsFunction(_ y: Tensor, memory: Tensor, sourceLengths: [Int]) -> Tensor {
        var y = norm1(y + dropout1(selfAttention(y, memory: y, mask: .causal)))
        y = norm2(y + dropout2(crossAttention(y, memory: memory, mask: .keyLengths(sourceLengths))))
        return norm3(y + dropout3(feedForward(y)))
    }
}
