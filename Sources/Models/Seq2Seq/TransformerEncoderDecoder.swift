// The original Transformer as a translator: the end of the story that RNNEncoderDecoder begins. There is no
// recurrence: the encoder reads the whole source at once through self-attention, and the decoder reaches every
// encoder state through cross-attention at every layer, so nothing has to pass through one hidden state.
//
//   encoder   source ids → embedding · √d + sinusoidal positions → N encoder layers → LN → states (B, S, D)
//   decoder   target inputs → embedding · √d + sinusoidal positions → N decoder layers (causal self-attention,
//             cross-attention to the states) → LN → logits (B, T, V)
//
// Embeddings are drawn with std 1/√d so that scaled by √d (the paper's factor) they have unit variance, on the scale
// of the positions' sines; the final layer norms are torch.nn.Transformer's. Training is teacher forcing, all target
// positions in one pass; translating runs the decoder once per output token (greedy or beam search).

import NN
import Tensors

public final class TransformerEncoderDecoder: Module, EncoderDecoder {
    public struct Config: Codable, Equatable, Sendable {
        public var sourceVocabulary: Int, targetVocabulary: Int
        public var modelSize = 64, heads = 4, encoderLayers = 2, decoderLayers = 2, feedForwardSize = 256
        public var dropout: Float = 0
        /// The longest source or target the sinusoidal table covers.
        public var maxPositions = 256

        public init(sourceVocabulary: Int, targetVocabulary: Int, modelSize: Int = 64, heads: Int = 4, encoderLayers: Int = 2,
                    decoderLayers: Int = 2, feedForwardSize: Int = 256, dropout: Float = 0, maxPositions: Int = 256) {
            (self.sourceVocabulary, self.targetVocabulary) = (sourceVocabulary, targetVocabulary)
            (self.modelSize, self.heads, self.encoderLayers, self.decoderLayers) = (modelSize, heads, encoderLayers, decoderLayers)
            (self.feedForwardSize, self.dropout, self.maxPositions) = (feedForwardSize, dropout, maxPositions)
        }

        /// Why these sizes cannot make a model, or nil.
        public var problem: String? {
            if [sourceVocabulary, targetVocabulary, modelSize, heads, encoderLayers, decoderLayers, feedForwardSize, maxPositions].contains(where: { $0 < 1 }) {
                return "every size must be at least 1"
            }
            if modelSize % heads != 0 { return "the model size \(modelSize) is not divisible by the heads \(heads)" }
            if !(0..<1).contains(dropout) { return "dropout \(dropout) is not in [0, 1)" }
            return nil
        }
    }

    public let config: Config
    public let sourceEmbedding: Embedding, targetEmbedding: Embedding
    public let encoderLayers: [TransformerEncoderLayer], decoderLayers: [TransformerDecoderLayer]
    public let encoderNorm: LayerNorm, decoderNorm: LayerNorm
    public let output: Linear
    let positions: Tensor // the fixed sinusoidal table (maxPositions, D): not a parameter
    let embeddingDropout: Dropout

    public init(_ config: Config, seed: UInt64 = 0) {
        precondition(config.problem == nil, config.problem ?? "")
        self.config = config
        var g = SeededGenerator(seed: seed)
        let (d, std) = (config.modelSize, 1 / Float(config.modelSize).squareRoot())
        sourceEmbedding = Embedding(config.sourceVocabulary, d, std: std, generator: &g)
        targetEmbedding = Embedding(config.targetVocabulary, d, std: std, generator: &g)
        encoderLayers = (0..<config.encoderLayers).map { _ in
            TransformerEncoderLayer(d, heads: config.heads, feedForward: config.feedForwardSize, dropout: config.dropout, generator: &g)
        }
        decoderLayers = (0..<config.decoderLayers).map { _ in
            TransformerDecoderLayer(d, heads: config.heads, feedForward: config.feedForwardSize, dropout: config.dropout, generator: &g)
        }
        (encoderNorm, decoderNorm) = (LayerNorm(d), LayerNorm(d))
        output = Linear(d, config.targetVocabulary, generator: &g)
        positions = PositionalEncoding.sinusoidal(positions: config.maxPositions, dimensions: d)
        embeddingDropout = Dropout(config.dropout, seed: g.next())
    }

    override public var children: [(String, Module)] {
        [("source_embedding", sourceEmbedding), ("target_embedding", targetEmbedding)]
            + encoderLayers.enumerated().map { ("encoder.layers.\($0.offset)", $0.element) } + [("encoder.norm", encoderNorm)]
            + decoderLayers.enumerated().map { ("decoder.layers.\($0.offset)", $0.element) } + [("decoder.norm", decoderNorm)]
            + [("output", output), ("embedding_dropout", embeddingDropout)]
    }

    public var maxSourceLength: Int? { config.maxPositions }
    public var alignmentName: String? { "cross-attention" }

    /// Embedded ids (B × T, row after row) with positions: (B, T, D).
    func embed(_ ids: [Int], batch: Int, table: Embedding) -> Tensor {
        let t = ids.count / batch
        precondition(t <= config.maxPositions, "\(t) positions; the sinusoidal table has \(config.maxPositions)")
        return embeddingDropout(table(ids, shape: [batch, t]) * Float(config.modelSize).squareRoot() + positions.narrow(0, start: 0, length: t))
    }

    /// The encoder's states (B, S, D) for `source` ids (B × S; row b's first `lengths[b]` are tokens, then padding).
    public func encode(_ source: [Int], lengths: [Int]) -> Tensor {
        var x = embed(source, batch: lengths.count, table: sourceEmbedding)
        for layer in encoderLayers { x = layer(x, lengths: lengths) }
        return encoderNorm(x)
    }

    /// The decoder's logits (B, T, V) for `targetInputs` (B × T) over the encoder's states.
    public func decode(_ targetInputs: [Int], memory: Tensor, sourceLengths: [Int]) -> Tensor {
        var y = embed(targetInputs, batch: sourceLengths.count, table: targetEmbedding)
        for layer in decoderLayers { y = layer(y, memory: memory, sourceLengths: sourceLengths) }
        return output(decoderNorm(y))
    }

    public func logits(source: [Int], sourceLengths: [Int], targetInputs: [Int]) -> Tensor {
        decode(targetInputs, memory: encode(source, lengths: sourceLengths), sourceLengths: sourceLengths)
    }

    /// Every decoder layer's cross-attention (H, T, S) for one source and the decoder's inputs (begin, y_1 … y_{T−1}).
    public func crossAttention(source: [Int], targetInputs: [Int]) -> [Tensor] {
        Autograd.withNoGrad {
            let memory = encode(source, lengths: [source.count])
            var y = embed(targetInputs, batch: 1, table: targetEmbedding), maps: [Tensor] = []
            for layer in decoderLayers {
                maps.append(layer.crossAttentionWeights(y, memory: memory))
                y = layer(y, memory: memory, sourceLengths: [source.count])
            }
            return maps
        }
    }

    /// Greedy (`beam` 1) or beam-search translation; the alignment of each output token is the last decoder layer's
    /// cross-attention averaged over its heads. No key/value cache: each step reruns the decoder over the prefix,
    /// which at these lengths costs less than it would take to explain.
    public func translate(_ source: [Int], begin: Int, end: Int, maxLength: Int, beam: Int) -> (ids: [Int], alignments: [[Float]]) {
        Autograd.withNoGrad {
            let wasTraining = isTraining
            eval()
            defer { train(wasTraining) }
            let memory = encode(source, lengths: [source.count]), limit = min(maxLength, config.maxPositions - 1)
            let best = BeamSearch.decode(start: (), end: end, width: beam, maxLength: limit) { live in
                let t = live[0].tokens.count + 1
                let inputs = live.flatMap { [begin] + $0.tokens }
                let logits = decode(inputs, memory: Tensor.concat(Array(repeating: memory, count: live.count), axis: 0),
                                    sourceLengths: Array(repeating: source.count, count: live.count)).select(1, t - 1).scalars
                let v = config.targetVocabulary
                return live.indices.map { (BeamSearch.logSoftmax(Array(logits[($0 * v)..<(($0 + 1) * v)])), ()) }
            }
            guard !best.tokens.isEmpty else { return ([], []) }
            let last = crossAttention(source: source, targetInputs: [begin] + best.tokens.dropLast()).last!
            let (h, t, s) = (last.shape[0], last.shape[1], last.shape[2]), w = last.scalars
            let rows = (0..<t).map { i in (0..<s).map { j in (0..<h).reduce(Float(0)) { $0 + w[($1 * t + i) * s + j] } / Float(h) } }
            return (best.tokens, rows)
        }
    }
}

extension TransformerDecoderLayer {
    /// The cross-attention weights (H, T, S) this layer computes for y (1, T, D) over memory (1, S, D).
    func crossAttentionWeights(_ y: Tensor, memory: Tensor) -> Tensor {
        crossAttention.weights(norm1(y + selfAttention(y, memory: y, mask: .causal)), memory: memory, causal: false)
    }
}
