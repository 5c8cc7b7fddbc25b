// The RNN encoder-decoder for translation (Sutskever et al. 2014; Cho et al. 2014), with or without Bahdanau
// attention: the notes' chapter 3 starts from its flaw. An encoder RNN reads the source; without attention its last
// hidden state is all the decoder ever sees of it ("the RNN cannot reach the encoder's earlier hidden states, and
// context is lost in long sentences"); with attention the decoder looks at every encoder state at every step.
//
//   encoder   source ids → embeddings → RNN → states h_1 … h_S (B, S, H), final state
//   decoder   starts from the encoder's final state; at step t reads the previous target token (and, with
//             attention, the context c_t = attention(s_{t−1}, h)), then scores the vocabulary from [s_t; c_t]
//
// Training is teacher forcing (the decoder reads the true previous token); translating is greedy or beam search.

import NN
import Tensors

public final class RNNEncoderDecoder: Module, EncoderDecoder {
    public struct Config: Codable, Equatable, Sendable {
        public var sourceVocabulary: Int, targetVocabulary: Int
        public var embeddingSize = 64, hiddenSize = 128, layers = 1
        public var cell: String = RNN.Cell.gru.rawValue
        public var attention = true

        public init(sourceVocabulary: Int, targetVocabulary: Int, embeddingSize: Int = 64, hiddenSize: Int = 128, layers: Int = 1,
                    cell: RNN.Cell = .gru, attention: Bool = true) {
            (self.sourceVocabulary, self.targetVocabulary) = (sourceVocabulary, targetVocabulary)
            (self.embeddingSize, self.hiddenSize, self.layers, self.cell, self.attention) = (embeddingSize, hiddenSize, layers, cell.rawValue, attention)
        }
    }

    public let config: Config
    public let sourceEmbedding: Embedding, targetEmbedding: Embedding
    public let encoder: RNN, decoder: RNN
    public let attention: BahdanauAttention?
    public let output: Linear

    public init(_ config: Config, seed: UInt64 = 0) {
        precondition(RNN.Cell(rawValue: config.cell) != nil, "cell \(config.cell) is none of \(RNN.Cell.allCases.map(\.rawValue))")
        self.config = config
        var g = SeededGenerator(seed: seed)
        let (e, h, cell) = (config.embeddingSize, config.hiddenSize, RNN.Cell(rawValue: config.cell)!)
        sourceEmbedding = Embedding(config.sourceVocabulary, e, generator: &g)
        targetEmbedding = Embedding(config.targetVocabulary, e, generator: &g)
        encoder = RNN(cell, inputSize: e, hiddenSize: h, layers: config.layers, generator: &g)
        decoder = RNN(cell, inputSize: e + (config.attention ? h : 0), hiddenSize: h, layers: config.layers, generator: &g)
        attention = config.attention ? BahdanauAttention(decoderSize: h, encoderSize: h, attentionSize: h, generator: &g) : nil
        output = Linear(h * (config.attention ? 2 : 1), config.targetVocabulary, generator: &g)
    }

    override public var children: [(String, Module)] {
        [("source_embedding", sourceEmbedding), ("target_embedding", targetEmbedding), ("encoder", encoder), ("decoder", decoder)]
            + (attention.map { [("attention", $0)] } ?? []) + [("output", output)]
    }

    /// The encoder's states (B, S, H) and final state for `source` ids (B × S, row after row; each row
    /// `sourceLengths[b]` tokens, then padding).
    public func encode(_ source: [Int], lengths: [Int]) -> (states: Tensor, final: RNN.State) {
        let b = lengths.count, s = source.count / b
        let (states, final) = encoder(sourceEmbedding(source, shape: [b, s]), lengths: lengths)
        return (states, final)
    }

    /// Teacher forcing: the logits (B, T, V) for the decoder reading `targetInputs` (B × T: BOS, y_1 … y_{T−1}), and
    /// with attention the alignments (B, T, S).
    public func callAsFunction(source: [Int], sourceLengths: [Int], targetInputs: [Int]) -> (logits: Tensor, alignments: Tensor?) {
        let b = sourceLengths.count, t = targetInputs.count / b
        let (states, final) = encode(source, lengths: sourceLengths)
        let inputs = targetEmbedding(targetInputs, shape: [b, t])                                  // (B, T, E)
        guard let attention else {
            // Without attention the whole target runs as one sequence from the encoder's final state.
            let (outputs, _) = decoder(inputs, initial: final)
            return (output(outputs), nil)
        }
        let keys = attention.keys(states), padding = BahdanauAttention.padding(lengths: sourceLengths, steps: states.shape[1])
        var state = final, logits: [Tensor] = [], alignments: [Tensor] = []
        for step in 0..<t {
            let (scores, next, weights) = attend(inputs.select(1, step), state: state, attention: attention, keys: keys, values: states, padding: padding)
            (state, logits, alignments) = (next, logits + [scores], alignments + [weights])
        }
        return (Tensor.stack(logits, axis: 1), Tensor.stack(alignments, axis: 1))
    }

    /// One decoder step with attention: the context from the previous state s_{t−1}, then s_t from [y_{t−1}; c_t],
    /// then the scores from [s_t; c_t]. `input` is the previous token's embedding (B, E). Returns the scores (B, V), the
    /// new state and the alignment (B, S).
    func attend(_ input: Tensor, state: RNN.State, attention: BahdanauAttention, keys: Tensor, values: Tensor,
                padding: Tensor?) -> (scores: Tensor, state: RNN.State, weights: Tensor) {
        let (context, weights) = attention(state.h.select(0, config.layers - 1), keys: keys, values: values, padding: padding)
        let next = decoder.step(Tensor.concat([input, context], axis: 1), state: state)
        return (output(Tensor.concat([next.h.select(0, config.layers - 1), context], axis: 1)), next, weights)
    }

    public func logits(source: [Int], sourceLengths: [Int], targetInputs: [Int]) -> Tensor {
        self(source: source, sourceLengths: sourceLengths, targetInputs: targetInputs).logits
    }

    public var maxSourceLength: Int? { nil }
    public var alignmentName: String? { attention == nil ? nil : "Bahdanau attention" }

    /// Greedy (`beam` 1) or beam-search translation; with attention, each output token's alignment over the source.
    /// A hypothesis carries its decoder state and its alignment rows.
    public func translate(_ source: [Int], begin: Int, end: Int, maxLength: Int, beam: Int) -> (ids: [Int], alignments: [[Float]]) {
        Autograd.withNoGrad {
            let wasTraining = isTraining
            eval()
            defer { train(wasTraining) }
            let (states, final) = encode(source, lengths: [source.count])
            let keys = attention?.keys(states)
            let best = BeamSearch.decode(start: (state: final, alignments: [[Float]]()), end: end, width: beam, maxLength: maxLength) { live in
                live.map { hypothesis in
                    let previous = hypothesis.tokens.last ?? begin, state = hypothesis.state.state
                    let input = targetEmbedding([previous], shape: [1, 1]).reshaped([1, config.embeddingSize])
                    if let attention, let keys {
                        let (scores, next, weights) = attend(input, state: state, attention: attention, keys: keys, values: states, padding: nil)
                        return (BeamSearch.logSoftmax(scores.scalars), (next, hypothesis.state.alignments + [weights.scalars]))
                    }
                    let next = decoder.step(input, state: state)
                    return (BeamSearch.logSoftmax(output(next.h.select(0, config.layers - 1)).scalars), (next, []))
                }
            }
            // The state after the end token holds one row more than there are tokens: the end token's, not shown.
            return (best.tokens, Array(best.state.alignments.prefix(best.tokens.count)))
        }
    }
}
