// GELU (fused kernel) and dropout.

import CKernels

extension Tensor {
    /// GELU in GPT-2's tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    public func gelu() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        llm_gelu_forward(pointer, out.pointer, count)
        return out.recording("gelu", [self]) { output in
            self.updateGrad { dx in llm_gelu_backward(self.pointer, output.gradPointer(), dx, self.count) }
        }
    }

    /// Zeroes each element with probability `p` and scales the survivors by 1 / (1 - p), so the
    /// expected value is unchanged; the identity when not `training` or when p == 0.
    public func dropout(_ p: Float, training: Bool, generator: inout SeededGenerator) -> Tensor {
        precondition(p >= 0 && p < 1, "dropout probability \(p) is not in [0, 1)")
        guard training && p > 0 else { return self }
        let mask = Tensor(uninitializedShape: shape)
        let scale = 1 / (1 - p)
        for i in 0..<count { mask.pointer[i] = generator.nextUniform() < p ? 0 : scale }
        return self * mask
    }
}
