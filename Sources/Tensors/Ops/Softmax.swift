// Softmax and log-softmax along an axis, with an optional causal mask fused in (for attention
// scores). The last axis goes straight to the fused row kernels; other axes are moved last and back.

import CKernels

extension Tensor {
    /// exp(x_i) / sum_j exp(x_j) along `axis`.
    public func softmax(axis: Int = -1) -> Tensor {
        let a = normalizedAxis(axis, rank: rank)
        if a != rank - 1 { return transposed(a, -1).softmax(axis: -1).transposed(a, -1) }
        return fusedSoftmax(causal: false)
    }

    /// Softmax over the last axis of attention scores (..., Tq, Tk) where query i may only see keys
    /// j <= i + (Tk - Tq): the causal mask of a decoder, fused into the kernel (masked weights are 0).
    public func causalSoftmax() -> Tensor {
        precondition(rank >= 2, "causalSoftmax needs (..., queries, keys), got shape \(shape)")
        return fusedSoftmax(causal: true)
    }

    private func fusedSoftmax(causal: Bool) -> Tensor {
        let cols = shape.last ?? 1, rows = cols == 0 ? 0 : count / cols
        let queries = causal ? shape[rank - 2] : 1
        let out = Tensor(uninitializedShape: shape)
        llm_softmax_forward(pointer, out.pointer, rows, cols, causal ? 1 : 0, queries)
        return out.recording(causal ? "causalSoftmax" : "softmax", [self]) { output in
            self.updateGrad { dx in llm_softmax_backward(output.pointer, output.gradPointer(), dx, rows, cols, 1) }
        }
    }

    /// x_i - log(sum_j exp(x_j)) along `axis`, computed without overflow.
    public func logSoftmax(axis: Int = -1) -> Tensor {
        let a = normalizedAxis(axis, rank: rank)
        if a != rank - 1 { return transposed(a, -1).logSoftmax(axis: -1).transposed(a, -1) }
        let cols = shape.last ?? 1, rows = cols == 0 ? 0 : count / cols
        let out = Tensor(uninitializedShape: shape)
        llm_log_softmax_forward(pointer, out.pointer, rows, cols)
        return out.recording("logSoftmax", [self]) { output in
            self.updateGrad { dx in llm_log_softmax_backward(output.pointer, output.gradPointer(), dx, rows, cols, 1) }
        }
    }
}
