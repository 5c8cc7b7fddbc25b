// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization"), with PyTorch's semantics:
//
//   p -= lr * weightDecay * p                      (decoupled decay, before the Adam step)
//   m  = beta1 * m + (1 - beta1) * g
//   v  = beta2 * v + (1 - beta2) * g^2
//   p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
//
// One fused, vectorised loop per parameter (`Kernels.adamWUpdate`): reading p, g, m and v once per
// step is what bounds its speed. The last line is computed as PyTorch computes it:
// lr / c1 * m / (sqrt(v) / sqrt(c2) + eps).

import Foundation
import Tensors

public final class AdamW {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, eps: Float
    public var weightDecay: Float
    public internal(set) var step = 0
    let parameters: [Tensor]
    // Allocated by the first update or restore: an optimizer that never updates (a data-parallel process whose
    // moments are sharded, ZeroRedundancy.swift) holds none.
    var firstMoments: [[Float]] = []
    var secondMoments: [[Float]] = []

    public init(parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 0.01) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }

    private func allocateMoments() {
        guard firstMoments.isEmpty else { return }
        firstMoments = parameters.map { [Float](repeating: 0, count: $0.count) }
        secondMoments = parameters.map { [Float](repeating: 0, count: $0.count) }
    }

    /// Applies one update from the parameters' accumulated gradients (parameters without one are skipped).
    public func update() {
        allocateMoments()
        step += 1
        let correction1 = 1 - Float(Foundation.pow(Double(beta1), Double(step)))
        let correction2 = 1 - Float(Foundation.pow(Double(beta2), Double(step)))
        let (lr, b1, b2, eps, decay) = (learningRate, beta1, beta2, self.eps, weightDecay)
        for (k, p) in parameters.enumerated() {
            guard let grad = p.grad, p.count > 0 else { continue }
            grad.withUnsafeBufferPointer { g in
                p.withUnsafeMutableBufferPointer { w in
                    firstMoments[k].withUnsafeMutableBufferPointer { m in
                        secondMoments[k].withUnsafeMutableBufferPointer { v in
                            Kernels.adamWUpdate(w.baseAddress!, gradient: g.baseAddress!, m: m.baseAddress!, v: v.baseAddress!,
                                                count: w.count, learningRate: lr, beta1: b1, beta2: b2, eps: eps,
                                                weightDecay: decay, correction1: correction1, correction2: correction2)
                        }
                    }
                }
            }
        }
    }

    /// The optimizer's state for a checkpoint: the step and both moment vectors of every parameter.
    public var state: (step: Int, first: [[Float]], second: [[Float]]) {
        allocateMoments()
        return (step, firstMoments, secondMoments)
    }

    /// Restores a state saved from an optimizer over parameters of the same shapes.
    public func restore(step: Int, first: [[Float]], second: [[Float]]) throws {
        guard first.count == parameters.count, second.count == parameters.count,
              zip(parameters, zip(first, second)).allSatisfy({ $0.count == $1.0.count && $0.count == $1.1.count }) else {
            throw OptimizerStateError(description: "the saved optimizer state does not fit this model's parameters")
        }
        self.step = step
        firstMoments = first
        secondMoments = second
    }

    /// Scales all gradients so that their global L2 norm is at most `maxNorm`; returns the norm before.
    @discardableResult
    public func clipGradients(maxNorm: Float) -> Float {
        var total: Double = 0
        for p in parameters { p.grad?.withUnsafeBufferPointer { g in for x in g { total += Double(x) * Double(x) } } }
        let norm = Float(total.squareRoot())
        if norm > maxNorm, norm.isFinite {
            let scale = maxNorm / (norm + 1e-6)
            for p in parameters { p.scaleGrad(by: scale) }
        }
        return norm
    }

    /// Clears every parameter's gradient before the next accumulation.
    public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }
}

public struct OptimizerStateError: Error, CustomStringConvertible {
    public let description: String
}
