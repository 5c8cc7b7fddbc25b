// Cross-entropy of logits against class indices, fused: one pass computes each row's log-sum-exp
// and loss; the backward pass recomputes softmax from the saved log-sum-exp instead of storing a
// (rows, classes) probability matrix (50,257 classes for GPT-2).

import CKernels

extension Tensor {
    /// Mean over rows of -log softmax(logits)[target], like PyTorch's `cross_entropy`. Logits are
    /// (..., classes) and there is one target per row; rows whose target is `ignoreIndex` are left out
    /// of both the sum and the count. With every row ignored the loss is NaN, as in PyTorch.
    public func crossEntropy(targets: [Int], ignoreIndex: Int = -100) -> Tensor {
        let classes = shape.last ?? 0, rows = classes == 0 ? 0 : count / classes
        precondition(targets.count == rows, "\(targets.count) targets for \(rows) rows of logits \(shape)")
        for t in targets where t != ignoreIndex {
            precondition(t >= 0 && t < classes, "target \(t) outside \(classes) classes")
        }
        let wide = targets.map { Int64($0) }
        let lse = Storage(count: rows)
        var counted = 0
        let total = llm_cross_entropy_forward(pointer, wide, lse.pointer, rows, classes, Int64(ignoreIndex), &counted)
        let out = Tensor(scalar: Float(total / Double(counted)))
        return out.recording("crossEntropy", [self]) { output in
            let scale = output.gradPointer()[0] / Float(counted)
            self.writeGrad { dx, add in
                llm_cross_entropy_backward(self.pointer, wide, lse.pointer, dx, rows, classes, Int64(ignoreIndex), scale,
                                           add ? 1 : 0)
            }
        }
    }
}
