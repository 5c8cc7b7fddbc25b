// Layer normalisation over the last dimension, fused: one kernel computes mean, variance and the
// affine output, saving mean and 1/std per row for the backward pass.

import CKernels

extension Tensor {
    /// (x - mean) / sqrt(var + eps) * weight + bias over the last dimension (biased variance, as
    /// PyTorch's `layer_norm`). `weight` and `bias` have the size of the last dimension, or are nil.
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
        let cols = shape.last ?? 1, rows = cols == 0 ? 0 : count / cols
        if let w = weight { precondition(w.shape == [cols], "layerNorm weight of shape \(w.shape) for input \(shape)") }
        if let b = bias { precondition(b.shape == [cols], "layerNorm bias of shape \(b.shape) for input \(shape)") }
        let out = Tensor(uninitializedShape: shape)
        let mean = Storage(count: rows), rstd = Storage(count: rows)
        llm_layernorm_forward(pointer, weight?.pointer, bias?.pointer, out.pointer, mean.pointer, rstd.pointer,
                              rows, cols, eps)
        let inputs = [self] + [weight, bias].compactMap { $0 }
        return out.recording("layerNorm", inputs) { output in
            let wantWeight = weight?.requiresGrad == true, wantBias = bias?.requiresGrad == true
            llm_layernorm_backward(self.pointer, weight?.pointer, mean.pointer, rstd.pointer, output.gradPointer(),
                                   self.requiresGrad ? self.gradPointer() : nil,
                                   wantWeight ? weight!.gradPointer() : nil,
                                   wantBias ? bias!.gradPointer() : nil, rows, cols)
        }
    }
}
