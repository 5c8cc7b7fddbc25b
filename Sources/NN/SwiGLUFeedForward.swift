// The feed-forward network of Llama and Qwen (the bonus chapters' SwiGLU step). GPT-2's widens to 4C,
// applies GELU and narrows back. SwiGLU projects the input twice to the hidden width I: one projection
// ("gate") goes through SiLU and multiplies the other ("up") elementwise, then "down" narrows back:
//
//   down(silu(gate(x)) * up(x))        gate, up: (C → I);  down: (I → C);  no biases
//
// Three matrices instead of two, so I is usually about 8C/3 to keep the parameter count of a 4C MLP
// (Llama 3.2 1B: C 2048, I 8192; Qwen3-0.6B: C 1024, I 3072).

import Tensors

/// What a transformer block needs from its feed-forward network: GPT-2's FeedForward or SwiGLUFeedForward.
public protocol FeedForwardNetwork: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
    func applyLoRA(rank: Int, alpha: Float, generator: inout SeededGenerator)
    func mergeLoRA()
}

public final class SwiGLUFeedForward: Module, FeedForwardNetwork {
    public private(set) var gate: Linear, up: Linear, down: Linear

    public init(_ c: Int, hidden: Int, bias: Bool = false, initStd: Float, generator: inout SeededGenerator) {
        gate = Linear(c, hidden, bias: bias, std: initStd, generator: &generator)
        up = Linear(c, hidden, bias: bias, std: initStd, generator: &generator)
        down = Linear(hidden, c, bias: bias, std: initStd, generator: &generator)
    }

    override public var children: [(String, Module)] { [("gate_proj", gate), ("up_proj", up), ("down_proj", down)] }

    /// x (..., C) → (..., C)
    public func callAsFunction(_ x: Tensor) -> Tensor { down(Tensor.swiGLU(gate: gate(x), up: up(x))) }

    public func applyLoRA(rank: Int, alpha: Float, generator: inout SeededGenerator) {
        gate = LinearWithLoRA(gate, rank: rank, alpha: alpha, generator: &generator)
        up = LinearWithLoRA(up, rank: rank, alpha: alpha, generator: &generator)
        down = LinearWithLoRA(down, rank: rank, alpha: alpha, generator: &generator)
    }

    public func mergeLoRA() {
        gate = gate.merged()
        up = up.merged()
        down = down.merged()
    }
}
