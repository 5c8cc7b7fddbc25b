// Root-mean-square normalisation over the last dimension (Zhang & Sennrich, 2019), the norm of Llama and
// Qwen: layer norm without centring and without a bias, x / sqrt(mean(x^2) + eps) * weight. One kernel
// pass per row (CKernels/fused.c), saving 1/rms per row for the backward pass.

import CKernels

extension Tensor {
    /// x / sqrt(mean(x^2) + eps) * weight over the last dimension; `weight` has that dimension's size, or is nil.
    public func rmsNorm(weight: Tensor?, eps: Float = 1e-6) -> Tensor {
        let cols = shape.last ?? 1, rows = cols == 0 ? 0 : count / cols
        if let w = weight { precondition(w.shape == [cols], "rmsNorm weight of shape \(w.shape) for input \(shape)") }
        let out = Tensor(uninitializedShape: shape)
        let rstd = Storage(count: rows)
        llm_rmsnorm_forward(pointer, weight?.pointer, out.pointer, rstd.pointer, rows, cols, eps)
        return out.recording("rmsNorm", [self] + [weight].compactMap { $0 }) { output in
            llm_rmsnorm_backward(self.pointer, weight?.pointer, rstd.pointer, output.gradPointer(),
                                 self.requiresGrad ? self.gradPointer() : nil,
                                 weight?.requiresGrad == true ? weight!.gradPointer() : nil, rows, cols)
        }
    }
}
