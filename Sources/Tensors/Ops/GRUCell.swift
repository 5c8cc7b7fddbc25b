// One step of PyTorch's GRU cell as a single op, forward and backward:
//
//   r = σ(x_r + h_r + b_r)      z = σ(x_z + h_z + b_z)      n = tanh(x_n + r ⊙ (h_n + b_n))      h' = (1 − z) ⊙ n + z ⊙ h
//
// where x_· are the input's projections (x · W_ihᵀ + b_ih, computed for every step of a sequence at once) and h_· the
// state's (h · W_hhᵀ, one matrix product per step). Composed, a step is about fifteen ops (splits, adds, sigmoids,
// products), each with its own buffer and its own backward pass; at the sizes RNNs are trained at here (32 × 128)
// that bookkeeping, not the arithmetic, was most of the time. Rows may be padding at a step (`keep` false): their
// state passes through unchanged, as in PyTorch's packed sequences.

import CKernels
import Foundation

extension Tensor {
    /// The next GRU state (B, H). `inputGates` holds x · W_ihᵀ + b_ih: (B, 3H), or (B, T, 3H) read at `step`;
    /// `hiddenGates` is h · W_hhᵀ (B, 3H) without its bias `hiddenBias` (3H); `state` is h (B, H). Gate order r, z, n.
    public static func gruCell(inputGates gx: Tensor, step: Int? = nil, hiddenGates gh: Tensor, hiddenBias bias: Tensor,
                               state h: Tensor, keep: [Bool]? = nil) -> Tensor {
        let (b, n) = (h.shape[0], h.shape[1])
        precondition(h.rank == 2 && gh.shape == [b, 3 * n] && bias.shape == [3 * n], "gruCell: state (B, H), hidden gates (B, 3H), bias (3H)")
        precondition(step == nil ? gx.shape == [b, 3 * n] : (gx.rank == 3 && gx.shape[0] == b && gx.shape[2] == 3 * n && (0..<gx.shape[1]).contains(step!)),
                     "gruCell: input gates (B, 3H) or (B, T, 3H) with a step, got \(gx.shape)")
        precondition(keep.map { $0.count == b } ?? true, "gruCell: one keep flag per row")
        // Row b's input gates start at rowStride · b + offset.
        let (rowStride, offset) = step.map { (gx.shape[1] * 3 * n, $0 * 3 * n) } ?? (3 * n, 0)
        let out = Tensor(uninitializedShape: [b, n])
        let saved = Storage(count: b * 4 * n) // r, z, n and h_n + b_n of every row: what the backward pass needs
        let pstate = h.pointer
        func run(_ flags: UnsafePointer<UInt8>?) {
            llm_gru_cell_forward(gx.pointer + offset, rowStride, gh.pointer, bias.pointer, pstate, flags, out.pointer, saved.pointer, b, n)
        }
        if let keep { keep.map { UInt8($0 ? 1 : 0) }.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
        return out.recording("gruCell", [gx, gh, bias, h]) { output in
            let g = output.gradPointer()
            let ps = saved.pointer // the closure holds `saved`, so the saved gates live as long as the graph
            // Per row: ∂pre-activations of r, z, n (what both projections and the bias receive; the state's n gate
            // gets ∂n_pre ⊙ r), and ∂h.
            let dGates = Storage(zeros: b * 3 * n), dHidden = Storage(zeros: b * 3 * n)
            let (dg, dhg) = (dGates.pointer, dHidden.pointer)
            for row in 0..<b where keep?[row] ?? true {
                let go = g + row * n, hs = pstate + row * n, s = ps + row * 4 * n, d = dg + row * 3 * n, dhr = dhg + row * 3 * n
                for j in 0..<n {
                    let (r, z, c, hn) = (s[j], s[n + j], s[2 * n + j], s[3 * n + j])
                    let dnPre = go[j] * (1 - z) * (1 - c * c)
                    let dzPre = go[j] * (hs[j] - c) * z * (1 - z)
                    let drPre = dnPre * hn * r * (1 - r)
                    (d[j], d[n + j], d[2 * n + j]) = (drPre, dzPre, dnPre)
                    (dhr[j], dhr[n + j], dhr[2 * n + j]) = (drPre, dzPre, dnPre * r)
                }
            }
            h.updateGrad { dh in // ∂h' / ∂h through z ⊙ h; a padded row's state passed straight through
                for row in 0..<b {
                    let go = g + row * n, s = ps + row * 4 * n, kept = keep?[row] ?? true
                    for j in 0..<n { dh[row * n + j] += kept ? go[j] * s[n + j] : go[j] }
                }
            }
            gx.updateGrad { dx in
                for row in 0..<b {
                    let to = dx + row * rowStride + offset, from = dg + row * 3 * n
                    for j in 0..<(3 * n) { to[j] += from[j] }
                }
            }
            gh.writeGrad { dx, add in
                if add { for i in 0..<(b * 3 * n) { dx[i] += dhg[i] } } else { dx.update(from: dhg, count: b * 3 * n) }
            }
            bias.updateGrad { db in
                for row in 0..<b { for j in 0..<(3 * n) { db[j] += dhg[row * 3 * n + j] } }
            }
        }
    }
}
