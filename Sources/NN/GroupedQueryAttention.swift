// Grouped-query attention (Ainslie et al. 2023), the attention of Llama 3 and Qwen3 (the bonus
// chapters' "GPT to Llama 3" step): H query heads but only H_kv key/value heads, each shared by a group
// of H / H_kv query heads. The model computes and caches H_kv keys and values instead of H, so the KV
// cache shrinks by the group factor with little loss in quality (H_kv = H is multi-head attention,
// H_kv = 1 multi-query attention).
//
// Beside GPT-2's MultiHeadAttention it differs in the other ways those models do:
//   - separate q_proj, k_proj, v_proj, o_proj (nn.Linear names), biases on all four or none (attention_bias);
//   - rotary positions applied to queries and keys (RotaryEmbedding), none added to the embeddings;
//   - Qwen3 only: an RMSNorm over each head's query and key vectors before the rotation (q_norm, k_norm),
//     which keeps attention logits from growing in deep models;
//   - the head dimension may differ from C / H (Qwen3-0.6B: C 1024, 16 heads of 128).
//
// Shapes: B batch, T tokens, C model width, H query heads, K = H_kv key/value heads, hd head dimension.

import Foundation
import Tensors

/// What a transformer block needs from its attention: GPT-2's MultiHeadAttention or GroupedQueryAttention.
public protocol CausalSelfAttention: Module {
    /// Queries (B, H, T, hd) and keys and values (B, K, T, hd), positions from `start` (earlier ones cached).
    func projectHeads(_ x: Tensor, start: Int) -> (q: Tensor, k: Tensor, v: Tensor)
    /// Causal attention of the queries over (possibly cached) keys and values → (B, Tq, C), projected.
    func attend(q: Tensor, k: Tensor, v: Tensor) -> Tensor
    /// The causal attention weights (B, H, Tq, Tk), for looking at.
    func attentionWeights(q: Tensor, k: Tensor) -> Tensor
    /// x (B, T, C) → (B, T, C).
    func callAsFunction(_ x: Tensor) -> Tensor
    func applyLoRA(rank: Int, alpha: Float, generator: inout SeededGenerator)
    func mergeLoRA()
}

extension CausalSelfAttention {
    public func projectHeads(_ x: Tensor) -> (q: Tensor, k: Tensor, v: Tensor) { projectHeads(x, start: 0) }
}

extension MultiHeadAttention: CausalSelfAttention {}

public final class GroupedQueryAttention: Module, CausalSelfAttention {
    public private(set) var query: Linear, key: Linear, value: Linear, output: Linear
    /// Qwen3's per-head RMSNorm of queries and keys (nil in Llama).
    public let queryNorm: RMSNorm?, keyNorm: RMSNorm?
    public let heads: Int, keyValueHeads: Int, headDimension: Int
    public let rotary: RotaryEmbedding
    public let dropout: Dropout

    public init(_ c: Int, heads: Int, keyValueHeads: Int, headDimension hd: Int, bias: Bool, rotary: RotaryEmbedding,
                headNormEpsilon: Float? = nil, dropout p: Float = 0, initStd: Float, seed: UInt64 = 0,
                generator: inout SeededGenerator) {
        precondition(heads % keyValueHeads == 0, "\(heads) query heads do not split into groups of \(keyValueHeads) key/value heads")
        query = Linear(c, heads * hd, bias: bias, std: initStd, generator: &generator)
        key = Linear(c, keyValueHeads * hd, bias: bias, std: initStd, generator: &generator)
        value = Linear(c, keyValueHeads * hd, bias: bias, std: initStd, generator: &generator)
        output = Linear(heads * hd, c, bias: bias, std: initStd, generator: &generator)
        queryNorm = headNormEpsilon.map { RMSNorm(hd, eps: $0) }
        keyNorm = headNormEpsilon.map { RMSNorm(hd, eps: $0) }
        self.heads = heads
        self.keyValueHeads = keyValueHeads
        headDimension = hd
        self.rotary = rotary
        dropout = Dropout(p, seed: seed)
    }

    override public var children: [(String, Module)] {
        var c: [(String, Module)] = [("q_proj", query), ("k_proj", key), ("v_proj", value), ("o_proj", output)]
        if let queryNorm, let keyNorm { c += [("q_norm", queryNorm), ("k_norm", keyNorm)] }
        return c + [("attn_dropout", dropout)]
    }

    public func projectHeads(_ x: Tensor, start: Int) -> (q: Tensor, k: Tensor, v: Tensor) {
        let b = x.shape[0], t = x.shape[1], hd = headDimension
        var q = query(x).reshaped([b, t, heads, hd]), k = key(x).reshaped([b, t, keyValueHeads, hd])
        if let queryNorm, let keyNorm { (q, k) = (queryNorm(q), keyNorm(k)) }     // per head, over hd
        q = rotary(q.transposed(1, 2), start: start)                                // (B, H, T, hd)
        k = rotary(k.transposed(1, 2), start: start)                                // (B, K, T, hd)
        let v = value(x).reshaped([b, t, keyValueHeads, hd]).transposed(1, 2)       // (B, K, T, hd)
        return (q, k, v)
    }

    /// Keys or values (B, K, T, hd) repeated for each query head of their group → (B, H, T, hd).
    func repeatedForGroups(_ x: Tensor) -> Tensor {
        let group = heads / keyValueHeads
        guard group > 1 else { return x }
        let (b, t, hd) = (x.shape[0], x.shape[2], x.shape[3])
        return x.unsqueezed(2).expanded(to: [b, keyValueHeads, group, t, hd]).reshaped([b, heads, t, hd])
    }

    public func attend(q: Tensor, k: Tensor, v: Tensor) -> Tensor {
        let b = q.shape[0], tq = q.shape[2]
        let (p, dropoutKey) = isTraining && dropout.p > 0 ? (dropout.p, dropout.nextKey()) : (0, 0)
        let context = Tensor.scaledDotProductAttention(q, repeatedForGroups(k), repeatedForGroups(v), causal: true,
                                                       dropout: p, dropoutKey: dropoutKey,
                                                       dropoutFirstRow: dropout.firstRow)  // (B, H, Tq, hd)
        return output(context.transposed(1, 2).reshaped([b, tq, heads * headDimension]))
    }

    public func attentionWeights(q: Tensor, k: Tensor) -> Tensor {
        (q.matmul(repeatedForGroups(k).transposed()) / Float(headDimension).squareRoot()).causalSoftmax()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (q, k, v) = projectHeads(x, start: 0)
        return attend(q: q, k: k, v: v)
    }

    /// LoRA on all four projections (what `peft` calls target_modules q_proj, k_proj, v_proj, o_proj).
    public func applyLoRA(rank: Int, alpha: Float, generator: inout SeededGenerator) {
        query = LinearWithLoRA(query, rank: rank, alpha: alpha, generator: &generator)
        key = LinearWithLoRA(key, rank: rank, alpha: alpha, generator: &generator)
        value = LinearWithLoRA(value, rank: rank, alpha: alpha, generator: &generator)
        output = LinearWithLoRA(output, rank: rank, alpha: alpha, generator: &generator)
    }

    public func mergeLoRA() {
        query = query.merged()
        key = key.merged()
        value = value.merged()
        output = output.merged()
    }
}
