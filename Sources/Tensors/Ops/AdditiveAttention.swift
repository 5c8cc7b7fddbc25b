// The scores of additive (Bahdanau) attention as one op, forward and backward:
//
//   e[b, s] = vᵀ tanh(K[b, s] + q[b])
//
// where K = U h_j holds the projected encoder states (computed once per sentence) and q = W s the projected decoder
// state (once per output step). Composed, this is a broadcast sum over (B, S, A), a tanh and a matrix product with a
// single column, each with its own (B, S, A) buffer and backward pass, at every decoder step; fused, one pass each way.

import CKernels

extension Tensor {
    /// keys (B, S, A), query (B, A), v (A) → scores (B, S).
    public static func additiveAttentionScores(keys: Tensor, query: Tensor, v: Tensor) -> Tensor {
        let (b, s, a) = (keys.shape[0], keys.shape[1], keys.shape[2])
        precondition(keys.rank == 3 && query.shape == [b, a] && v.shape == [a], "additive scores: keys (B, S, A), query (B, A), v (A); got \(keys.shape), \(query.shape), \(v.shape)")
        let out = Tensor(uninitializedShape: [b, s])
        let activations = Storage(count: b * s * a) // tanh(K + q), for the backward pass
        llm_additive_scores_forward(keys.pointer, query.pointer, v.pointer, activations.pointer, out.pointer, b, s, a)
        return out.recording("additiveAttentionScores", [keys, query, v]) { output in
            let g = output.gradPointer(), t = activations.pointer, pv = v.pointer
            // ∂ of the tanh's argument: g[b, s] · v[a] · (1 − t²); K receives it as is, q its sum over s.
            let dPre = Storage(count: b * s * a), d = dPre.pointer
            for row in 0..<(b * s) {
                let gr = g[row], tr = t + row * a, dr = d + row * a
                for j in 0..<a { dr[j] = gr * pv[j] * (1 - tr[j] * tr[j]) }
            }
            keys.writeGrad { dk, add in
                if add { for i in 0..<(b * s * a) { dk[i] += d[i] } } else { dk.update(from: d, count: b * s * a) }
            }
            query.updateGrad { dq in
                for row in 0..<(b * s) {
                    let dr = d + row * a, to = dq + (row / s) * a
                    for j in 0..<a { to[j] += dr[j] }
                }
            }
            v.updateGrad { dv in
                for row in 0..<(b * s) {
                    let gr = g[row], tr = t + row * a
                    for j in 0..<a { dv[j] += gr * tr[j] }
                }
            }
        }
    }
}
