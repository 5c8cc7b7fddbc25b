// config.json of the Llama 3 and Qwen3 families, with the keys Hugging Face's LlamaConfig and Qwen3Config
// use (`hidden_size`, `num_key_value_heads`, `rope_theta`, ...), read into the same GPTConfig that
// GPT-2's keys fill. Rotary settings are read from both spellings in use: `rope_theta` + `rope_scaling`
// (the files on the Hub) and `rope_parameters` (what transformers 5 writes); both are written.

import Foundation
import NN

extension GPTConfig {
    enum LlamaKeys: String, CodingKey {
        case modelType = "model_type", architectures, vocabSize = "vocab_size", hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size", layers = "num_hidden_layers", heads = "num_attention_heads"
        case keyValueHeads = "num_key_value_heads", headDim = "head_dim", contextLength = "max_position_embeddings"
        case rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta", ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters", tieWordEmbeddings = "tie_word_embeddings"
        case attentionBias = "attention_bias", mlpBias = "mlp_bias", attentionDropout = "attention_dropout"
        case initializerRange = "initializer_range", hiddenAct = "hidden_act", useSlidingWindow = "use_sliding_window"
        case bosTokenId = "bos_token_id", eosTokenId = "eos_token_id", padTokenId = "pad_token_id", torchDtype = "torch_dtype"
        case id2label, label2id
    }

    init(llamaFamily family: Architecture, from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: LlamaKeys.self)
        architecture = family
        positionalEncoding = .rotary
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        embeddingSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        layers = try c.decode(Int.self, forKey: .layers)
        heads = try c.decode(Int.self, forKey: .heads)
        keyValueHeadCount = try c.decodeIfPresent(Int.self, forKey: .keyValueHeads)
        headDimensionOverride = try c.decodeIfPresent(Int.self, forKey: .headDim)
        // The default, spelled out. (heads > 0 first: fuzzing found num_attention_heads 0 dividing by zero here, before
        // validate() could refuse it.)
        if heads > 0, headDimensionOverride == embeddingSize / heads { headDimensionOverride = nil }
        contextLength = try c.decode(Int.self, forKey: .contextLength)
        layerNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-6
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
        qkvBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? false
        dropout = try c.decodeIfPresent(Float.self, forKey: .attentionDropout) ?? 0
        initializerRange = try c.decodeIfPresent(Float.self, forKey: .initializerRange) ?? 0.02
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId)
        if try c.decodeIfPresent(Bool.self, forKey: .mlpBias) == true {
            throw DecodingError.dataCorruptedError(forKey: .mlpBias, in: c, debugDescription: "mlp_bias true is not supported")
        }
        if let act = try c.decodeIfPresent(String.self, forKey: .hiddenAct), act != "silu" {
            throw DecodingError.dataCorruptedError(forKey: .hiddenAct, in: c, debugDescription: "hidden_act \"\(act)\" is not supported (silu)")
        }
        if try c.decodeIfPresent(Bool.self, forKey: .useSlidingWindow) == true {
            throw DecodingError.dataCorruptedError(forKey: .useSlidingWindow, in: c, debugDescription: "sliding-window attention is not supported")
        }
        // rope_parameters (transformers 5) holds rope_theta and the scaling; older files have them apart.
        if let rope = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters) {
            ropeTheta = rope.theta ?? 10_000
            if (rope.type ?? "default") != "default" { ropeScaling = try c.decode(Llama3RopeScaling.self, forKey: .ropeParameters) }
        } else {
            ropeTheta = try c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? 10_000
            ropeScaling = try c.decodeIfPresent(Llama3RopeScaling.self, forKey: .ropeScaling)
        }
        endTokenIds = try Self.tokenIds(c, .eosTokenId)
        // A sequence classifier's labels (transformers writes LABEL_0, LABEL_1 into language-model configs too).
        let architectures = try c.decodeIfPresent([String].self, forKey: .architectures) ?? []
        if architectures.contains(where: { $0.hasSuffix("ForSequenceClassification") }),
           let byIndex = try c.decodeIfPresent([String: String].self, forKey: .id2label) {
            let names = (0..<byIndex.count).compactMap { byIndex[String($0)] }
            guard names.count == byIndex.count else {
                throw DecodingError.dataCorruptedError(forKey: .id2label, in: c, debugDescription: "id2label keys must be 0..<n")
            }
            labels = names
        }
    }

    /// `rope_parameters` as transformers 5 writes it: the base, and the scaling's fields beside its type.
    private struct RopeParameters: Codable {
        var theta: Double?, type: String?
        var scaling: Llama3RopeScaling?

        enum CodingKeys: String, CodingKey { case theta = "rope_theta", type = "rope_type" }

        init(theta: Double, scaling: Llama3RopeScaling?) {
            self.theta = theta
            type = scaling == nil ? "default" : "llama3"
            self.scaling = scaling
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            theta = try c.decodeIfPresent(Double.self, forKey: .theta)
            type = try c.decodeIfPresent(String.self, forKey: .type)
        }

        func encode(to encoder: Encoder) throws {
            try scaling?.encode(to: encoder) // its fields and rope_type "llama3", in the same object
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(theta, forKey: .theta)
            try c.encodeIfPresent(type, forKey: .type)
        }
    }

    /// eos_token_id is an id, a list of ids, or null.
    private static func tokenIds(_ c: KeyedDecodingContainer<LlamaKeys>, _ key: LlamaKeys) throws -> [Int] {
        if let one = try? c.decodeIfPresent(Int.self, forKey: key) { return [one] }
        return try c.decodeIfPresent([Int].self, forKey: key) ?? []
    }

    func encodeLlamaFamily(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: LlamaKeys.self)
        try c.encode(architecture.rawValue, forKey: .modelType)
        let family = architecture == .llama ? "Llama" : "Qwen3"
        try c.encode([family + (labels == nil ? "ForCausalLM" : "ForSequenceClassification")], forKey: .architectures)
        if let labels {
            try c.encode(Dictionary(uniqueKeysWithValues: labels.enumerated().map { (String($0.offset), $0.element) }), forKey: .id2label)
            try c.encode(Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, $0.offset) }), forKey: .label2id)
        }
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(embeddingSize, forKey: .hiddenSize)
        try c.encode(feedForwardSize, forKey: .intermediateSize)
        try c.encode(layers, forKey: .layers)
        try c.encode(heads, forKey: .heads)
        try c.encode(keyValueHeads, forKey: .keyValueHeads)
        try c.encode(headDimension, forKey: .headDim)
        try c.encode(contextLength, forKey: .contextLength)
        try c.encode(layerNormEpsilon, forKey: .rmsNormEps)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode(qkvBias, forKey: .attentionBias)
        if architecture == .llama { try c.encode(false, forKey: .mlpBias) }
        try c.encode(dropout, forKey: .attentionDropout)
        try c.encode(initializerRange, forKey: .initializerRange)
        try c.encode("silu", forKey: .hiddenAct)
        try c.encodeIfPresent(padTokenId, forKey: .padTokenId)
        if endTokenIds.count == 1 { try c.encode(endTokenIds[0], forKey: .eosTokenId) }
        if endTokenIds.count > 1 { try c.encode(endTokenIds, forKey: .eosTokenId) }
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encodeIfPresent(ropeScaling, forKey: .ropeScaling)
        try c.encode(RopeParameters(theta: ropeTheta, scaling: ropeScaling), forKey: .ropeParameters)
    }

    func validateLlamaFamily() throws {
        func fail(_ message: String) -> GPTError { GPTError(description: "invalid configuration: \(message)") }
        guard keyValueHeads >= 1, heads % keyValueHeads == 0 else {
            throw fail("num_attention_heads (\(heads)) must be a multiple of num_key_value_heads (\(keyValueHeads))")
        }
        guard headDimension >= 2, headDimension % 2 == 0 else { throw fail("rotary positions need an even head_dim, got \(headDimension)") }
        guard headDimensionOverride != nil || embeddingSize % heads == 0 else {
            throw fail("hidden_size (\(embeddingSize)) must be divisible by num_attention_heads (\(heads))")
        }
        guard feedForwardSize >= 1 else { throw fail("intermediate_size must be positive") }
        guard ropeTheta > 0, ropeTheta.isFinite else { throw fail("rope_theta must be positive") }
        if let s = ropeScaling {
            guard s.factor > 0, s.lowFrequencyFactor > 0, s.highFrequencyFactor > s.lowFrequencyFactor, s.originalContextLength >= 1 else {
                throw fail("rope_scaling needs factor > 0 and high_freq_factor > low_freq_factor > 0")
            }
        }
        guard positionalEncoding == .rotary else { throw fail("the \(architecture.rawValue) family uses rotary positions") }
    }

    /// A Llama-family configuration with the given sizes.
    public static func llamaFamily(_ family: Architecture, vocabSize: Int = 50257, contextLength: Int, embeddingSize: Int,
                            intermediateSize: Int, layers: Int, heads: Int, keyValueHeads: Int, headDimension: Int? = nil,
                            ropeTheta: Double, ropeScaling: Llama3RopeScaling? = nil, epsilon: Float = 1e-6,
                            tied: Bool = true) -> GPTConfig {
        var c = GPTConfig()
        c.architecture = family
        c.positionalEncoding = .rotary
        c.vocabSize = vocabSize
        c.contextLength = contextLength
        c.embeddingSize = embeddingSize
        c.intermediateSize = intermediateSize
        c.layers = layers
        c.heads = heads
        c.keyValueHeadCount = keyValueHeads
        c.headDimensionOverride = headDimension
        c.ropeTheta = ropeTheta
        c.ropeScaling = ropeScaling
        c.layerNormEpsilon = epsilon
        c.tieWordEmbeddings = tied
        c.qkvBias = false
        c.dropout = 0
        return c
    }

    /// Small ones to train from scratch on GPT-2's tokenizer, and the real shapes (for parameter counts and
    /// speed measurements with random weights).
    static let llamaFamilyPresets: [String: GPTConfig] = [
        "llama-tiny": llamaFamily(.llama, contextLength: 128, embeddingSize: 128, intermediateSize: 352, layers: 2, heads: 4,
                                  keyValueHeads: 2, ropeTheta: 500_000),
        "qwen3-tiny": llamaFamily(.qwen3, contextLength: 128, embeddingSize: 128, intermediateSize: 384, layers: 2, heads: 4,
                                  keyValueHeads: 2, headDimension: 64, ropeTheta: 1_000_000),
        "llama-3.2-1b": llamaFamily(.llama, vocabSize: 128_256, contextLength: 131_072, embeddingSize: 2048, intermediateSize: 8192,
                                    layers: 16, heads: 32, keyValueHeads: 8, ropeTheta: 500_000,
                                    ropeScaling: Llama3RopeScaling(factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4,
                                                                   originalContextLength: 8192), epsilon: 1e-5),
        "qwen3-0.6b": llamaFamily(.qwen3, vocabSize: 151_936, contextLength: 40_960, embeddingSize: 1024, intermediateSize: 3072,
                                  layers: 28, heads: 16, keyValueHeads: 8, headDimension: 128, ropeTheta: 1_000_000),
    ]
}
