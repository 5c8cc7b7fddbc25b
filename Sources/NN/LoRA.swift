// LoRA, low-rank adaptation (Hu et al. 2021; the book's appendix E): instead of updating a frozen
// weight W (in, out), learn a low-rank change ΔW = (alpha / rank) · A · B with A (in, rank) and
// B (rank, out), so a layer trains rank · (in + out) numbers instead of in · out.
//
//   LoRALayer:       x (..., in) → (alpha / rank) · x A B  (..., out)
//   LinearWithLoRA:  x → x W + b + LoRALayer(x)            (a Linear, so it stands in for one)
//
// A starts Kaiming-uniform as in the book (PyTorch's kaiming_uniform_(a: sqrt(5)) on an (in, rank)
// tensor takes its fan-in from the second dimension, so the bound is 1/sqrt(rank)); B starts at zero,
// so a freshly wrapped layer computes exactly what the base layer did and training starts from the
// base model. The scale is alpha / rank as in the LoRA paper (the book multiplies by alpha alone).
//
// GPT-2 fuses the query, key and value projections into one (C, 3C) layer; `parts: 3` gives each of
// the three column blocks its own adapter, which is the book's setup (separate W_query, W_key,
// W_value, each with its own LoRA) and gives the book's trainable-parameter count.

import Tensors

public final class LoRALayer: Module {
    public let a: Tensor  // (in, rank)
    public let b: Tensor  // (rank, out)
    public let alpha: Float

    public init(_ inFeatures: Int, _ outFeatures: Int, rank: Int, alpha: Float, generator: inout SeededGenerator) {
        precondition(rank >= 1, "the LoRA rank must be at least 1, got \(rank)")
        let bound = 1 / Float(rank).squareRoot()
        a = Tensor.uniform([inFeatures, rank], low: -bound, high: bound, generator: &generator, requiresGrad: true)
        b = Tensor.zeros([rank, outFeatures], requiresGrad: true)
        self.alpha = alpha
    }

    public var rank: Int { a.shape[1] }
    public var scale: Float { alpha / Float(rank) }

    override public var ownParameters: [(String, Tensor)] { [("A", a), ("B", b)] }

    /// x (..., in) → (..., out)
    public func callAsFunction(_ x: Tensor) -> Tensor { x.linear(a, bias: nil).linear(b, bias: nil) * scale }

    /// ΔW = scale · A B  (in, out), without recording gradients.
    public var delta: Tensor { Autograd.withNoGrad { a.matmul(b) * scale } }
}

public final class LinearWithLoRA: Linear {
    /// One adapter per column block of the output (one block unless the layer fuses several projections).
    public let adapters: [LoRALayer]

    /// Wraps `base` (sharing its weight and bias, which the caller freezes) with `parts` adapters, each
    /// covering outFeatures / parts output columns.
    public init(_ base: Linear, rank: Int, alpha: Float, parts: Int = 1, generator: inout SeededGenerator) {
        precondition(parts >= 1 && base.outFeatures % parts == 0,
                     "\(base.outFeatures) output features do not split into \(parts) equal parts")
        adapters = (0..<parts).map { _ in
            LoRALayer(base.inFeatures, base.outFeatures / parts, rank: rank, alpha: alpha, generator: &generator)
        }
        super.init(weight: base.weight, bias: base.bias)
    }

    override public var children: [(String, Module)] {
        adapters.count == 1 ? [("lora", adapters[0])] : adapters.enumerated().map { ("lora.\($0.offset)", $0.element) }
    }

    override func forward(_ x: Tensor) -> Tensor {
        let update = adapters.count == 1 ? adapters[0](x) : Tensor.concat(adapters.map { $0(x) }, axis: -1)
        return super.forward(x) + update
    }

    /// W + ΔW as one plain Linear (new storage; the base weight is left as it was).
    override public func merged() -> Linear {
        let (rows, columns) = (inFeatures, outFeatures), width = columns / adapters.count
        var w = weight.scalars
        for (k, adapter) in adapters.enumerated() {
            let delta = adapter.delta.scalars // (in, width)
            for i in 0..<rows {
                for j in 0..<width { w[i * columns + k * width + j] += delta[i * width + j] }
            }
        }
        return Linear(weight: Tensor(w, shape: [rows, columns], requiresGrad: weight.requiresGrad),
                      bias: bias.map { Tensor($0.scalars, shape: $0.shape, requiresGrad: $0.requiresGrad) })
    }
}

extension Module {
    /// Marks every parameter of this module and its children as frozen (no gradient) or trainable.
    public func setTrainable(_ trainable: Bool) {
        for p in parameters { p.requiresGrad = trainable }
    }

    /// The parameters that will receive gradients.
    public var trainableParameters: [Tensor] { parameters.filter(\.requiresGrad) }
}
