// The shape of a GPT, with the keys Hugging Face's GPT2Config uses in `config.json`, so a model
// directory written here loads in `transformers` and one written there loads here. Keys that
// GPT2Config does not have (qkv_bias, position_embedding_type) are ours; `transformers` ignores them.
// The Llama 3 and Qwen3 families are the same decoder with other pieces (`architecture`); their own
// config.json keys are read and written in LlamaConfig.swift.

import Foundation
import NN

public struct GPTConfig: Codable, Equatable, Sendable {
    /// Tokens in the vocabulary (50,257 for GPT-2's byte-level BPE).
    public var vocabSize = 50257
    /// Context length: the most tokens the model reads at once.
    public var contextLength = 1024
    /// Embedding width C.
    public var embeddingSize = 768
    /// Transformer blocks.
    public var layers = 12
    /// Attention heads per block (C must divide by it).
    public var heads = 12
    /// Dropout on embeddings, attention weights and residual branches (0 for inference).
    public var dropout: Float = 0.1
    /// Bias on the query/key/value projection (GPT-2 has one; the book's model does not).
    public var qkvBias = true
    /// Output head shares the token embedding matrix (GPT-2 does).
    public var tieWordEmbeddings = true
    public var layerNormEpsilon: Float = 1e-5
    public var positionalEncoding: PositionalEncodingKind = .learned
    /// Standard deviation of the initial weights (GPT-2: 0.02).
    public var initializerRange: Float = 0.02
    /// How weights start: GPT-2's normal(0, initializer_range) with scaled residual projections, or
    /// PyTorch's layer defaults (embeddings normal(0, 1), linear layers uniform ±1/sqrt(in)), which is
    /// what the book's GPTModel gets and what its chapter 5 numbers come from.
    public var initScheme: InitScheme = .gpt2

    public enum InitScheme: String, Codable, Sendable { case gpt2, pytorchDefault = "pytorch_default" }

    /// Which family's pieces the decoder is built from (config.json's `model_type`):
    ///   gpt2   LayerNorm, multi-head attention with fused qkv, learned (or other) positions, GELU MLP, biases;
    ///   llama  RMSNorm, grouped-query attention, rotary positions, SwiGLU, no biases (Llama 2/3);
    ///   qwen3  llama plus an RMSNorm on each head's queries and keys.
    public enum Architecture: String, Codable, CaseIterable, Sendable { case gpt2, llama, qwen3 }
    public var architecture: Architecture = .gpt2
    /// Key/value heads of grouped-query attention (`num_key_value_heads`); nil: one per query head.
    public var keyValueHeadCount: Int?
    /// Width of a head when it is not n_embd / n_head (`head_dim`, Qwen3).
    public var headDimensionOverride: Int?
    /// Hidden width of the feed-forward network (`intermediate_size`); nil: GPT-2's 4 x n_embd.
    public var intermediateSize: Int?
    /// Rotary base θ (`rope_theta`) and Llama 3's frequency scaling (`rope_scaling`).
    public var ropeTheta: Double = 10_000
    public var ropeScaling: Llama3RopeScaling?
    /// Token ids that end generation besides <|endoftext|> (`eos_token_id`, Llama 3's <|eot_id|> ...).
    public var endTokenIds: [Int] = []

    /// Key/value heads (n_head unless grouped-query attention shares them).
    public var keyValueHeads: Int { keyValueHeadCount ?? heads }
    /// Width of one attention head.
    public var headDimension: Int { headDimensionOverride ?? embeddingSize / heads }
    /// Hidden width of the feed-forward network.
    public var feedForwardSize: Int { intermediateSize ?? 4 * embeddingSize }
    /// Whether this is the Llama/Qwen decoder (RMSNorm, grouped-query attention, rotary, SwiGLU).
    public var isLlamaFamily: Bool { architecture != .gpt2 }

    /// Class names of a classifier, by class index (`id2label`); nil for a language model.
    public var labels: [String]?
    /// The padding token a classifier's inputs may end with (`pad_token_id`; GPT-2 uses <|endoftext|>).
    public var padTokenId: Int?

    public init() {}

    public init(vocabSize: Int = 50257, contextLength: Int, embeddingSize: Int, layers: Int, heads: Int,
                dropout: Float = 0.1, qkvBias: Bool = true, tieWordEmbeddings: Bool = true,
                positionalEncoding: PositionalEncodingKind = .learned) {
        self.vocabSize = vocabSize
        self.contextLength = contextLength
        self.embeddingSize = embeddingSize
        self.layers = layers
        self.heads = heads
        self.dropout = dropout
        self.qkvBias = qkvBias
        self.tieWordEmbeddings = tieWordEmbeddings
        self.positionalEncoding = positionalEncoding
    }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", contextLength = "n_positions", embeddingSize = "n_embd", layers = "n_layer"
        case heads = "n_head", dropout = "resid_pdrop", qkvBias = "qkv_bias", tieWordEmbeddings = "tie_word_embeddings"
        case layerNormEpsilon = "layer_norm_epsilon", positionalEncoding = "position_embedding_type"
        case initializerRange = "initializer_range", initScheme = "init_scheme"
        case modelType = "model_type", architectures, activation = "activation_function", nCtx = "n_ctx"
        case embdPdrop = "embd_pdrop", attnPdrop = "attn_pdrop"
        case id2label, label2id, padTokenId = "pad_token_id"
    }

    /// Reads GPT2Config keys; the required ones must be there, the rest default as in GPT2Config.
    /// A `model_type` of the Llama family is read with that family's keys (LlamaConfig.swift).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let type = try c.decodeIfPresent(String.self, forKey: .modelType), type != "gpt2" {
            guard let family = Architecture(rawValue: type) else {
                throw DecodingError.dataCorruptedError(forKey: .modelType, in: c,
                    debugDescription: "model_type \"\(type)\" is not supported (gpt2, llama, qwen3)")
            }
            try self.init(llamaFamily: family, from: decoder)
            return
        }
        self.init()
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        contextLength = try c.decode(Int.self, forKey: .contextLength)
        embeddingSize = try c.decode(Int.self, forKey: .embeddingSize)
        layers = try c.decode(Int.self, forKey: .layers)
        heads = try c.decode(Int.self, forKey: .heads)
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? 0.1
        qkvBias = try c.decodeIfPresent(Bool.self, forKey: .qkvBias) ?? true
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? true
        layerNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? 1e-5
        positionalEncoding = try c.decodeIfPresent(PositionalEncodingKind.self, forKey: .positionalEncoding) ?? .learned
        initializerRange = try c.decodeIfPresent(Float.self, forKey: .initializerRange) ?? 0.02
        initScheme = try c.decodeIfPresent(InitScheme.self, forKey: .initScheme) ?? .gpt2
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId)
        // Only a sequence classifier's labels matter; `transformers` writes LABEL_0, LABEL_1 into
        // language-model configs too.
        let architectures = try c.decodeIfPresent([String].self, forKey: .architectures) ?? []
        if architectures.contains("GPT2ForSequenceClassification"),
           let byIndex = try c.decodeIfPresent([String: String].self, forKey: .id2label) {
            let names = (0..<byIndex.count).compactMap { byIndex[String($0)] }
            guard names.count == byIndex.count else {
                throw DecodingError.dataCorruptedError(forKey: .id2label, in: c, debugDescription: "id2label keys must be 0..<n")
            }
            labels = names
        }
    }

    public func encode(to encoder: Encoder) throws {
        if isLlamaFamily { return try encodeLlamaFamily(to: encoder) }
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("gpt2", forKey: .modelType)
        try c.encode([labels == nil ? "GPT2LMHeadModel" : "GPT2ForSequenceClassification"], forKey: .architectures)
        if let labels {
            try c.encode(Dictionary(uniqueKeysWithValues: labels.enumerated().map { (String($0.offset), $0.element) }), forKey: .id2label)
            try c.encode(Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, $0.offset) }), forKey: .label2id)
        }
        try c.encodeIfPresent(padTokenId, forKey: .padTokenId)
        try c.encode("gelu_new", forKey: .activation) // GPT-2's tanh approximation
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(contextLength, forKey: .contextLength)
        try c.encode(contextLength, forKey: .nCtx)
        try c.encode(embeddingSize, forKey: .embeddingSize)
        try c.encode(layers, forKey: .layers)
        try c.encode(heads, forKey: .heads)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(dropout, forKey: .embdPdrop)
        try c.encode(dropout, forKey: .attnPdrop)
        try c.encode(qkvBias, forKey: .qkvBias)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode(layerNormEpsilon, forKey: .layerNormEpsilon)
        try c.encode(positionalEncoding, forKey: .positionalEncoding)
        try c.encode(initializerRange, forKey: .initializerRange)
        try c.encode(initScheme, forKey: .initScheme)
    }

    /// Checks that the numbers describe a buildable model.
    public func validate() throws {
        func fail(_ message: String) -> GPTError { GPTError(description: "invalid configuration: \(message)") }
        guard vocabSize >= 1, contextLength >= 1, embeddingSize >= 1, layers >= 1, heads >= 1 else {
            throw fail("vocab_size, n_positions, n_embd, n_layer and n_head must be positive")
        }
        if isLlamaFamily {
            try validateLlamaFamily()
        } else {
            guard embeddingSize % heads == 0 else { throw fail("n_embd (\(embeddingSize)) must be divisible by n_head (\(heads))") }
            guard positionalEncoding != .rotary || (embeddingSize / heads) % 2 == 0 else {
                throw fail("rotary positions need an even head size, got \(embeddingSize / heads)")
            }
        }
        guard dropout >= 0 && dropout < 1 else { throw fail("dropout \(dropout) is not in [0, 1)") }
        if let labels {
            guard labels.count >= 2, Set(labels).count == labels.count else { throw fail("id2label needs two or more distinct labels, got \(labels)") }
        }
    }

    // MARK: Presets

    public static let presets: [String: GPTConfig] = [
        "gpt2": GPTConfig(contextLength: 1024, embeddingSize: 768, layers: 12, heads: 12),
        "gpt2-medium": GPTConfig(contextLength: 1024, embeddingSize: 1024, layers: 24, heads: 16),
        "gpt2-large": GPTConfig(contextLength: 1024, embeddingSize: 1280, layers: 36, heads: 20),
        "gpt2-xl": GPTConfig(contextLength: 1024, embeddingSize: 1600, layers: 48, heads: 25),
        // Trains in minutes on two cores.
        "small": GPTConfig(contextLength: 256, embeddingSize: 256, layers: 4, heads: 4),
        "tiny": GPTConfig(contextLength: 128, embeddingSize: 128, layers: 2, heads: 4),
    ].merging(llamaFamilyPresets) { a, _ in a }

    /// The book's GPT_CONFIG_124M: GPT-2 small without the query/key/value bias, initialised as
    /// PyTorch initialises the book's layers.
    public static var book124M: GPTConfig {
        var c = presets["gpt2"]!
        c.qkvBias = false
        c.initScheme = .pytorchDefault
        return c
    }

    public static func preset(_ name: String) throws -> GPTConfig {
        guard let c = presets[name] else {
            throw GPTError(description: "unknown preset \"\(name)\"; known: \(presets.keys.sorted().joined(separator: ", "))")
        }
        return c
    }
}

public struct GPTError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(description: String) { self.description = description }
    public var errorDescription: String? { description }
}
