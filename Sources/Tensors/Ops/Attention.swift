// Scaled dot-product attention as one fused op: softmax(q k^T * scale [+ causal mask]) v without
// storing the (Tq, Tk) weight matrix (CKernels/attention.c). Equal, within rounding, to composing
// matmul, causalSoftmax and matmul, which the tests check; it needs O(T) memory instead of O(T^2),
// which is what makes long contexts possible.

import CKernels

extension Tensor {
    /// q (..., Tq, D), k and v (..., Tk, D) with the same leading dimensions → (..., Tq, D).
    /// `scale` defaults to 1/sqrt(D). With `causal`, query i sees keys up to Tk - Tq + i.
    public static func scaledDotProductAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, causal: Bool,
                                                 scale: Float? = nil) -> Tensor {
        precondition(q.rank >= 2 && k.shape == v.shape && Array(q.shape.dropLast(2)) == Array(k.shape.dropLast(2))
                     && q.shape.last == k.shape.last,
                     "attention needs q (..., Tq, D) and k, v (..., Tk, D); got \(q.shape), \(k.shape), \(v.shape)")
        let tq = q.shape[q.rank - 2], tk = k.shape[k.rank - 2], d = q.shape[q.rank - 1]
        precondition(!causal || tq <= tk, "causal attention needs at least as many keys as queries, got \(tq) > \(tk)")
        let heads = shapeCount(Array(q.shape.dropLast(2)))
        let s = scale ?? 1 / Float(d).squareRoot()
        let out = Tensor(uninitializedShape: q.shape)
        let lse = Storage(count: heads * tq)
        llm_attention_forward(q.pointer, k.pointer, v.pointer, out.pointer, lse.pointer, heads, tq, tk, d, s, causal ? 1 : 0)
        return out.recording("attention", [q, k, v]) { output in
            llm_attention_backward(q.pointer, k.pointer, v.pointer, output.pointer, lse.pointer, output.gradPointer(),
                                   q.requiresGrad ? q.gradPointer() : nil, k.requiresGrad ? k.gradPointer() : nil,
                                   v.requiresGrad ? v.gradPointer() : nil, heads, tq, tk, d, s, causal ? 1 : 0)
        }
    }
}
