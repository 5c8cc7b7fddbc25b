// BERT's shape, read from and written to config.json with the keys of Hugging Face's BertConfig.

import Foundation

public struct BERTConfig: Codable, Equatable, Sendable {
    public var vocabSize = 30522
    public var hiddenSize = 768
    public var layers = 12
    public var heads = 12
    public var intermediateSize = 3072
    public var maxPositions = 512
    public var typeVocabSize = 2
    public var layerNormEps: Float = 1e-12
    public var hiddenDropout: Float = 0.1
    public var attentionDropout: Float = 0.1
    public var hiddenAct = "gelu"
    public var padTokenId = 0
    public var architectures: [String]? = nil
    public var numLabels: Int? = nil

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", layers = "num_hidden_layers", heads = "num_attention_heads"
        case intermediateSize = "intermediate_size", maxPositions = "max_position_embeddings", typeVocabSize = "type_vocab_size"
        case layerNormEps = "layer_norm_eps", hiddenDropout = "hidden_dropout_prob", attentionDropout = "attention_probs_dropout_prob"
        case hiddenAct = "hidden_act", padTokenId = "pad_token_id", architectures, numLabels = "num_labels"
    }

    public init(vocabSize: Int = 30522, hiddenSize: Int = 768, layers: Int = 12, heads: Int = 12, intermediateSize: Int = 3072,
                maxPositions: Int = 512) {
        (self.vocabSize, self.hiddenSize, self.layers, self.heads) = (vocabSize, hiddenSize, layers, heads)
        (self.intermediateSize, self.maxPositions) = (intermediateSize, maxPositions)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? fallback }
        let d = BERTConfig()
        vocabSize = try value(.vocabSize, d.vocabSize)
        hiddenSize = try value(.hiddenSize, d.hiddenSize)
        layers = try value(.layers, d.layers)
        heads = try value(.heads, d.heads)
        intermediateSize = try value(.intermediateSize, d.intermediateSize)
        maxPositions = try value(.maxPositions, d.maxPositions)
        typeVocabSize = try value(.typeVocabSize, d.typeVocabSize)
        layerNormEps = try value(.layerNormEps, d.layerNormEps)
        hiddenDropout = try value(.hiddenDropout, d.hiddenDropout)
        attentionDropout = try value(.attentionDropout, d.attentionDropout)
        hiddenAct = try value(.hiddenAct, d.hiddenAct)
        padTokenId = try value(.padTokenId, d.padTokenId)
        architectures = try c.decodeIfPresent([String].self, forKey: .architectures)
        numLabels = try c.decodeIfPresent(Int.self, forKey: .numLabels)
    }

    public var headDimension: Int { hiddenSize / heads }

    /// Google's BERT sizes (Devlin et al. 2019; the small ones are Turc et al. 2019's "well-read students"): layers,
    /// width, heads, and a feed-forward 4 × as wide. The vocabulary is the tokenizer's, set when the model is made.
    public static let presets: [String: BERTConfig] = [
        "bert-tiny": BERTConfig(hiddenSize: 128, layers: 2, heads: 2, intermediateSize: 512),
        "bert-mini": BERTConfig(hiddenSize: 256, layers: 4, heads: 4, intermediateSize: 1024),
        "bert-small": BERTConfig(hiddenSize: 512, layers: 4, heads: 8, intermediateSize: 2048),
        "bert-medium": BERTConfig(hiddenSize: 512, layers: 8, heads: 8, intermediateSize: 2048),
        "bert-base": BERTConfig(hiddenSize: 768, layers: 12, heads: 12, intermediateSize: 3072),
    ]

    /// Why this configuration cannot make a model, or nil.
    public var problem: String? {
        if hiddenSize < 1 || layers < 1 || heads < 1 || vocabSize < 1 || maxPositions < 1 || typeVocabSize < 1 || intermediateSize < 1 {
            return "every size must be at least 1"
        }
        if hiddenSize % heads != 0 { return "num_attention_heads (\(heads)) does not divide hidden_size (\(hiddenSize))" }
        if !["gelu", "gelu_new", "relu"].contains(hiddenAct) { return "hidden_act \"\(hiddenAct)\" is not one of gelu, gelu_new, relu" }
        return nil
    }
}
