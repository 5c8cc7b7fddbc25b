// Additive attention (Bahdanau, Cho and Bengio 2014, "Neural Machine Translation by Jointly Learning to Align and
// Translate"): what the notes give as the step between an RNN encoder-decoder, whose decoder sees the source only
// through the encoder's last hidden state, and self-attention. At every output step the decoder scores each source
// position j against its own state s,
//
//   e_j = vᵀ tanh(W s + U h_j),     α = softmax(e) over the source's tokens,     context = Σ_j α_j h_j
//
// so it can reach back to any encoder state, however long the sentence. α is the alignment drawn as a heat map.
// U h_j does not change from step to step, so `keys` computes it once per source sentence; the scores are one fused op
// (Tensors/Ops/AdditiveAttention.swift).

import NN
import Tensors

public final class BahdanauAttention: Module {
    public let query: Linear // W: decoder state → attention space
    public let key: Linear   // U: encoder state → attention space
    public let score: Linear // v: attention space → one score

    public init(decoderSize: Int, encoderSize: Int, attentionSize: Int, generator: inout SeededGenerator) {
        query = Linear(decoderSize, attentionSize, bias: false, generator: &generator)
        key = Linear(encoderSize, attentionSize, generator: &generator)
        score = Linear(attentionSize, 1, bias: false, generator: &generator)
    }

    override public var children: [(String, Module)] { [("query", query), ("key", key), ("score", score)] }

    /// U h_j for every source position: encoder states (B, S, He) → (B, S, A).
    public func keys(_ encoderStates: Tensor) -> Tensor { key(encoderStates) }

    /// The context (B, He) and the alignment weights (B, S) for decoder states `state` (B, Hd); positions marked in
    /// `padding` (B, S; see `padding(lengths:steps:)`) get no weight.
    public func callAsFunction(_ state: Tensor, keys: Tensor, values: Tensor, padding: Tensor?) -> (context: Tensor, weights: Tensor) {
        let b = values.shape[0]
        var scores = Tensor.additiveAttentionScores(keys: keys, query: query(state), v: score.weight.reshaped([keys.shape[2]])) // (B, S)
        if let padding { scores = scores.maskedFill(padding, value: -.infinity) }
        let weights = scores.softmax(axis: -1)
        return (weights.unsqueezed(1).matmul(values).reshaped([b, values.shape[2]]), weights)
    }

    /// The (B, S) mask of padding (1 past each row's length) that `callAsFunction` takes; nil when no row is padded.
    public static func padding(lengths: [Int], steps s: Int) -> Tensor? {
        guard lengths.contains(where: { $0 < s }) else { return nil }
        return Tensor(lengths.flatMap { n in (0..<s).map { $0 < n ? Float(0) : 1 } }, shape: [lengths.count, s])
    }
}
