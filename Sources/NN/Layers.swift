// The basic layers: Linear, Embedding, LayerNorm, Dropout.
//
// Linear keeps its weight as (in, out), so the forward pass is x @ W with no transpose; this is also
// how GPT-2 checkpoints store their `Conv1D` weights. (PyTorch's nn.Linear stores (out, in).)
// Linear is a (non-open) class rather than final so that `LinearWithLoRA` (LoRA.swift) can stand in
// wherever a Linear goes.

import Tensors

public class Linear: Module {
    public let weight: Tensor   // (in, out)
    public let bias: Tensor?    // (out)

    /// Weights uniform in ±1/sqrt(in) (PyTorch's nn.Linear default), or normal(0, std) when `std` is given.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, std: Float? = nil, generator: inout SeededGenerator) {
        let bound = 1 / Float(inFeatures).squareRoot()
        if let std {
            weight = Tensor.normal([inFeatures, outFeatures], std: std, generator: &generator, requiresGrad: true)
        } else {
            weight = Tensor.uniform([inFeatures, outFeatures], low: -bound, high: bound, generator: &generator, requiresGrad: true)
        }
        self.bias = bias
            ? (std != nil ? Tensor.zeros([outFeatures], requiresGrad: true)
                          : Tensor.uniform([outFeatures], low: -bound, high: bound, generator: &generator, requiresGrad: true))
            : nil
    }

    public init(weight: Tensor, bias: Tensor?) {
        self.weight = weight
        self.bias = bias
    }

    public var inFeatures: Int { weight.shape[0] }
    public var outFeatures: Int { weight.shape[1] }

    override public var ownParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    /// x (..., in) → (..., out)
    public func callAsFunction(_ x: Tensor) -> Tensor { forward(x) }

    func forward(_ x: Tensor) -> Tensor { x.linear(weight, bias: bias) }

    /// A plain Linear computing the same function (LinearWithLoRA folds its adapter in; a Linear is itself).
    public func merged() -> Linear { self }
}

public final class Embedding: Module {
    public let weight: Tensor // (V, C)

    public init(_ count: Int, _ dimensions: Int, std: Float = 1, generator: inout SeededGenerator) {
        weight = Tensor.normal([count, dimensions], std: std, generator: &generator, requiresGrad: true)
    }

    public init(weight: Tensor) { self.weight = weight }

    override public var ownParameters: [(String, Tensor)] { [("weight", weight)] }

    /// ids of shape `shape` → (shape..., C): row `id` of the weights for each id.
    public func callAsFunction(_ ids: [Int], shape: [Int]) -> Tensor { weight.embedding(ids, shape: shape) }
}

public final class LayerNorm: Module {
    public let weight: Tensor, bias: Tensor // (C), (C)
    public let eps: Float

    public init(_ dimensions: Int, eps: Float = 1e-5) {
        weight = Tensor.ones([dimensions], requiresGrad: true)
        bias = Tensor.zeros([dimensions], requiresGrad: true)
        self.eps = eps
    }

    override public var ownParameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }
}

/// Zeroes activations with probability `p` in training (scaling the rest by 1/(1-p)); the identity in
/// evaluation. Holds its own seeded generator, so a run is reproducible from the model's seed.
public final class Dropout: Module {
    public let p: Float
    var generator: SeededGenerator
    /// The row of the batch the masks are drawn for at which this process's inputs begin: a data-parallel
    /// process takes rows r·B ..< (r+1)·B of the global batch and drops what one process holding the whole
    /// batch would drop there (0 for one process).
    public private(set) var firstRow = 0

    public init(_ p: Float, seed: UInt64) {
        self.p = p
        generator = SeededGenerator(seed: seed)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard isTraining && p > 0 else { return x }
        return x.dropout(p, key: generator.next(), firstRow: firstRow)
    }

    /// The key of the mask this layer's next call would draw, consumed: for a fused kernel that
    /// applies this dropout itself (attention weights, with `firstRow`), so that it drops what this layer would.
    public func nextKey() -> UInt64 { generator.next() }

    public func reseed(_ seed: UInt64, firstRow: Int = 0) {
        generator = SeededGenerator(seed: seed)
        self.firstRow = firstRow
    }
}
