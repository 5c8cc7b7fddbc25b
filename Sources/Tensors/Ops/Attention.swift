// Scaled dot-product attention as one fused op: dropout(softmax(q k^T * scale [+ causal mask])) v
// without storing the (Tq, Tk) weight matrix (CKernels/attention.c). Equal, within rounding, to
// composing matmul, causalSoftmax, dropout and matmul, which the tests check (dropout included: both
// draw the same counter-based mask from the same key); it needs O(T) memory instead of O(T^2), which
// is what makes long contexts possible.
//
// Two layouts: separate q, k, v of shape (..., T, D), and GPT-2's fused projection (B, T, 3C) read in
// place, whose output comes back with the heads already merged, (B, T, C).

import CKernels

extension Tensor {
    /// q (..., Tq, D), k and v (..., Tk, D) with the same leading dimensions → (..., Tq, D).
    /// `scale` defaults to 1/sqrt(D). With `causal`, query i sees keys up to Tk - Tq + i. With
    /// `dropout` > 0, weights are dropped with the mask `Tensor.dropout(_:key:firstRow:)` would draw from
    /// `dropoutKey` and `dropoutFirstRow` for the (..., Tq, Tk) weights.
    public static func scaledDotProductAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, causal: Bool,
                                                 scale: Float? = nil, dropout p: Float = 0,
                                                 dropoutKey: UInt64 = 0, dropoutFirstRow: Int = 0) -> Tensor {
        precondition(q.rank >= 2 && k.shape == v.shape && Array(q.shape.dropLast(2)) == Array(k.shape.dropLast(2))
                     && q.shape.last == k.shape.last,
                     "attention needs q (..., Tq, D) and k, v (..., Tk, D); got \(q.shape), \(k.shape), \(v.shape)")
        let tq = q.shape[q.rank - 2], tk = k.shape[k.rank - 2], d = q.shape[q.rank - 1]
        let heads = shapeCount(Array(q.shape.dropLast(2)))
        let sq = llm_attention_strides(batch: heads * tq * d, head: tq * d, row: d)
        let sk = llm_attention_strides(batch: heads * tk * d, head: tk * d, row: d)
        let out = Tensor(uninitializedShape: q.shape)
        let weightRows = q.shape[0], weightCount = heads * tq * tk // the (..., Tq, Tk) weights' first dimension, size
        let firstIndex = weightRows > 0 ? dropoutFirstRow * (weightCount / weightRows) : 0
        let kernel = AttentionKernel(batch: 1, heads: heads, tq: tq, tk: tk, d: d, sq: sq, sk: sk, so: sq,
                                     scale: scale ?? 1 / Float(d).squareRoot(), causal: causal, dropout: p, key: dropoutKey,
                                     firstIndex: firstIndex)
        kernel.forward(q: q.pointer, k: k.pointer, v: v.pointer, out: out.pointer)
        return out.recording("attention", [q, k, v]) { output in
            kernel.backward(q: q.pointer, k: k.pointer, v: v.pointer, out: output.pointer, dout: output.gradPointer(),
                            dq: q.requiresGrad ? q.gradPointer() : nil, dk: k.requiresGrad ? k.gradPointer() : nil,
                            dv: v.requiresGrad ? v.gradPointer() : nil)
        }
    }

    /// Bidirectional attention over right-padded keys (BERT's batches; a Transformer decoder's cross-attention to its
    /// encoder): q (B, H, Tq, D), k and v (B, H, Tk, D); batch row b's queries see its first `keyLengths[b]` keys (the
    /// rest are padding: weight 0, as a mask bias of −∞ would give) → (B, H, Tq, D). Outputs at padded query positions
    /// are computed like any other and mean nothing.
    public static func paddedAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, keyLengths: [Int], dropout p: Float = 0,
                                       dropoutKey: UInt64 = 0, dropoutFirstRow: Int = 0) -> Tensor {
        precondition(q.rank == 4 && k.shape == v.shape && k.rank == 4 && q.shape[0] == k.shape[0] && q.shape[1] == k.shape[1]
                     && q.shape[3] == k.shape[3], "paddedAttention needs q (B, H, Tq, D) and k, v (B, H, Tk, D)")
        let (b, h, tq, tk, d) = (q.shape[0], q.shape[1], q.shape[2], k.shape[2], q.shape[3])
        precondition(keyLengths.count == b && keyLengths.allSatisfy { $0 >= 1 && $0 <= tk }, "a key length from 1 to \(tk) per batch row")
        let sq = llm_attention_strides(batch: h * tq * d, head: tq * d, row: d)
        let sk = llm_attention_strides(batch: h * tk * d, head: tk * d, row: d)
        let out = Tensor(uninitializedShape: q.shape)
        let kernel = AttentionKernel(batch: b, heads: h, tq: tq, tk: tk, d: d, sq: sq, sk: sk, so: sq,
                                     scale: 1 / Float(d).squareRoot(), causal: false, dropout: p, key: dropoutKey,
                                     firstIndex: dropoutFirstRow * h * tq * tk,
                                     keyLengths: keyLengths.map { Int32($0) })
        kernel.forward(q: q.pointer, k: k.pointer, v: v.pointer, out: out.pointer)
        return out.recording("paddedAttention", [q, k, v]) { output in
            kernel.backward(q: q.pointer, k: k.pointer, v: v.pointer, out: output.pointer, dout: output.gradPointer(),
                            dq: q.requiresGrad ? q.gradPointer() : nil, dk: k.requiresGrad ? k.gradPointer() : nil,
                            dv: v.requiresGrad ? v.gradPointer() : nil)
        }
    }

    /// Causal multi-head self-attention on a fused projection: qkv (B, T, 3C) holds queries, keys and
    /// values side by side (GPT-2's `c_attn` output), each C = heads x D wide → (B, T, C), each head's
    /// output in its own D columns (the heads merged). The same as splitting, transposing to
    /// (B, H, T, D), `scaledDotProductAttention` and merging back, without the copies.
    public static func causalSelfAttention(packed qkv: Tensor, heads: Int, dropout p: Float = 0,
                                           dropoutKey: UInt64 = 0, dropoutFirstRow: Int = 0) -> Tensor {
        precondition(qkv.rank == 3 && qkv.shape[2] % (3 * heads) == 0,
                     "causalSelfAttention needs (B, T, 3 x heads x D), got \(qkv.shape) for \(heads) heads")
        let (b, t, c) = (qkv.shape[0], qkv.shape[1], qkv.shape[2] / 3)
        let d = c / heads
        let sIn = llm_attention_strides(batch: t * 3 * c, head: d, row: 3 * c)
        let sOut = llm_attention_strides(batch: t * c, head: d, row: c)
        let out = Tensor(uninitializedShape: [b, t, c])
        let kernel = AttentionKernel(batch: b, heads: heads, tq: t, tk: t, d: d, sq: sIn, sk: sIn, so: sOut,
                                     scale: 1 / Float(d).squareRoot(), causal: true, dropout: p, key: dropoutKey,
                                     firstIndex: dropoutFirstRow * heads * t * t)
        let x = qkv.pointer
        kernel.forward(q: x, k: x + c, v: x + 2 * c, out: out.pointer)
        return out.recording("causalSelfAttention", [qkv]) { output in
            let g = qkv.gradPointer()
            kernel.backward(q: x, k: x + c, v: x + 2 * c, out: output.pointer, dout: output.gradPointer(),
                            dq: g, dk: g + c, dv: g + 2 * c)
        }
    }
}

/// One attention call's shapes and settings, and the log-sum-exp rows its forward pass keeps for the backward.
private struct AttentionKernel {
    let batch, heads, tq, tk, d: Int
    let sq, sk, so: llm_attention_strides
    let scale: Float
    let causal: Bool
    let dropout: Float
    let key: UInt64
    /// The flat index of this call's first weight in the (B, H, Tq, Tk) weights the dropout mask is drawn for.
    let firstIndex: UInt64
    let lse: Storage
    /// Per batch row, the keys that are tokens (right padding); nil: all.
    let keyLengths: [Int32]?

    init(batch: Int, heads: Int, tq: Int, tk: Int, d: Int, sq: llm_attention_strides, sk: llm_attention_strides,
         so: llm_attention_strides, scale: Float, causal: Bool, dropout: Float, key: UInt64, firstIndex: Int,
         keyLengths: [Int32]? = nil) {
        self.keyLengths = keyLengths
        precondition(!causal || tq <= tk, "causal attention needs at least as many keys as queries, got \(tq) > \(tk)")
        precondition(dropout >= 0 && dropout < 1, "dropout probability \(dropout) is not in [0, 1)")
        (self.batch, self.heads, self.tq, self.tk, self.d) = (batch, heads, tq, tk, d)
        (self.sq, self.sk, self.so) = (sq, sk, so)
        (self.scale, self.causal, self.dropout, self.key, self.firstIndex) = (scale, causal, dropout, key, UInt64(firstIndex))
        lse = Storage(count: batch * heads * tq)
    }

    func forward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        if let keyLengths {
            keyLengths.withUnsafeBufferPointer {
                llm_attention_forward_padded(q, k, v, out, lse.pointer, batch, heads, tq, tk, d, sq, sk, so, scale, 0, dropout, key,
                                             firstIndex, $0.baseAddress)
            }
        } else {
            llm_attention_forward(q, k, v, out, lse.pointer, batch, heads, tq, tk, d, sq, sk, so, scale, causal ? 1 : 0, dropout, key, firstIndex)
        }
    }

    func backward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafePointer<Float>,
                  dout: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>?, dk: UnsafeMutablePointer<Float>?,
                  dv: UnsafeMutablePointer<Float>?) {
        if let keyLengths {
            keyLengths.withUnsafeBufferPointer {
                llm_attention_backward_padded(q, k, v, out, lse.pointer, dout, dq, dk, dv, batch, heads, tq, tk, d, sq, sk, so,
                                              scale, 0, dropout, key, firstIndex, $0.baseAddress)
            }
        } else {
            llm_attention_backward(q, k, v, out, lse.pointer, dout, dq, dk, dv, batch, heads, tq, tk, d, sq, sk, so,
                                   scale, causal ? 1 : 0, dropout, key, firstIndex)
        }
    }
}
