// RMSNorm, Llama's replacement for GPT-2's LayerNorm (the book's bonus chapter "GPT to Llama", step 1):
// divide each vector by its root mean square and scale by a learned weight. No mean is subtracted and
// there is no bias, so it is cheaper, and in practice it trains as well. `Normalization` is what a
// transformer block needs from either norm.

import Tensors

/// A normalisation layer over the last dimension: LayerNorm (GPT-2) or RMSNorm (Llama, Qwen).
public protocol Normalization: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
}

extension LayerNorm: Normalization {}

public final class RMSNorm: Module, Normalization {
    public let weight: Tensor // (C), starts at ones
    public let eps: Float

    public init(_ dimensions: Int, eps: Float = 1e-6) {
        weight = Tensor.ones([dimensions], requiresGrad: true)
        self.eps = eps
    }

    override public var ownParameters: [(String, Tensor)] { [("weight", weight)] }

    /// x / sqrt(mean(x^2) + eps) * weight over the last dimension.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.rmsNorm(weight: weight, eps: eps) }
}
