// GELU (fused kernel) and dropout.

import CKernels
import Foundation

extension Tensor {
    /// GELU in GPT-2's tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    public func gelu() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        llm_gelu_forward(pointer, out.pointer, count)
        return out.recording("gelu", [self]) { output in
            self.writeGrad { dx, add in llm_gelu_backward(self.pointer, output.gradPointer(), dx, self.count, add ? 1 : 0) }
        }
    }

    /// GELU exactly, x Φ(x) = 0.5 x (1 + erf(x / √2)): BERT's "gelu" (PyTorch's default nn.GELU), which the tanh
    /// form above only approximates.
    /// (A vectorised kernel with erf to 1.5e-7: CKernels/fused.c.)
    public func exactGELU() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        llm_exact_gelu_forward(pointer, out.pointer, count)
        return out.recording("exact_gelu", [self]) { output in
            self.writeGrad { dx, add in llm_exact_gelu_backward(self.pointer, output.gradPointer(), dx, self.count, add ? 1 : 0) }
        }
    }

    /// Zeroes each element with probability `p` and scales the survivors by 1 / (1 - p), so the
    /// expected value is unchanged; the identity when not `training` or when p == 0. Each call draws one
    /// key from `generator`; which elements survive is a hash of (key, index) (CKernels), so no mask is
    /// stored: the backward pass recomputes it.
    public func dropout(_ p: Float, training: Bool, generator: inout SeededGenerator) -> Tensor {
        precondition(p >= 0 && p < 1, "dropout probability \(p) is not in [0, 1)")
        guard training && p > 0 else { return self }
        return dropout(p, key: generator.next())
    }

    /// Dropout with the mask of `key` (see above): the same key drops the same elements. With `firstRow`, this
    /// tensor is rows firstRow ..< firstRow + shape[0] of a larger one (a data-parallel process's share of the
    /// batch) and each element is dropped as it would be there.
    public func dropout(_ p: Float, key: UInt64, firstRow: Int = 0) -> Tensor {
        precondition(p >= 0 && p < 1, "dropout probability \(p) is not in [0, 1)")
        let out = Tensor(uninitializedShape: shape)
        let first = UInt64(firstRow * (rank > 0 && shape[0] > 0 ? count / shape[0] : 0))
        llm_dropout_forward(pointer, out.pointer, count, p, key, first)
        return out.recording("dropout", [self]) { output in
            self.writeGrad { dx, add in llm_dropout_backward(output.gradPointer(), dx, self.count, p, key, first, add ? 1 : 0) }
        }
    }
}
