// BERT's pretraining head, masked-language modelling: each hidden state is transformed (dense, GELU, layer
// norm) and scored against every word embedding — the decoder is the input embedding matrix itself (tied) —
// plus a bias per word. Trained to name the tokens hidden behind [MASK]; the loss counts those positions only.
//
//   logits = LayerNorm(gelu(W_t · h + b_t)) · wordᵀ + b      (Hugging Face's cls.predictions)

import Foundation
import NN
import Tensors

public final class BERTForMaskedLM: Module {
    public let bert: BERTModel
    public let transform: Linear
    public let transformNorm: LayerNorm
    public let bias: Tensor // (V)
    public var config: BERTConfig { bert.config }

    public init(_ config: BERTConfig, seed: UInt64 = 0) throws {
        bert = try BERTModel(config, seed: seed, pooler: false)
        var g = SeededGenerator(seed: seed &+ 1)
        transform = Linear(config.hiddenSize, config.hiddenSize, std: 0.02, generator: &g)
        transformNorm = LayerNorm(config.hiddenSize, eps: config.layerNormEps)
        bias = Tensor.zeros([config.vocabSize], requiresGrad: true)
    }

    override public var ownParameters: [(String, Tensor)] { [("cls.predictions.bias", bias)] }
    override public var children: [(String, Module)] {
        [("bert", bert), ("cls.predictions.transform.dense", transform), ("cls.predictions.transform.LayerNorm", transformNorm)]
    }

    /// Scores (B, T, V) over the vocabulary at every position.
    public func callAsFunction(_ ids: [Int], typeIds: [Int]? = nil, attentionMask: [Int]? = nil, batch: Int = 1) -> Tensor {
        let hidden = bert(ids, typeIds: typeIds, attentionMask: attentionMask, batch: batch).hidden
        let h = transformNorm(transform(hidden).exactGELU())
        return h.matmulTransposed(bert.embeddings.word.weight) + bias
    }

    /// The mean cross-entropy over the positions whose label is not -100 (the chosen, masked ones), scoring only
    /// those: the head's transform and its (C × V) decoder run on the rows that count, about 15 % of them (the
    /// same loss and gradients as `loss`, which scores every position as Hugging Face's BertForMaskedLM does).
    public func maskedLoss(_ ids: [Int], labels: [Int], typeIds: [Int]? = nil, attentionMask: [Int]? = nil, batch: Int = 1) -> Tensor {
        let hidden = bert(ids, typeIds: typeIds, attentionMask: attentionMask, batch: batch).hidden
        let chosen = labels.indices.filter { labels[$0] != -100 }
        let rows = hidden.reshaped([ids.count, config.hiddenSize]).indexSelect(0, chosen)
        let h = transformNorm(transform(rows).exactGELU())
        return (h.matmulTransposed(bert.embeddings.word.weight) + bias).crossEntropy(targets: chosen.map { labels[$0] })
    }

    /// The mean cross-entropy over the positions whose label is not -100 (the chosen, masked ones).
    public func loss(_ ids: [Int], labels: [Int], typeIds: [Int]? = nil, attentionMask: [Int]? = nil, batch: Int = 1) -> Tensor {
        let logits = self(ids, typeIds: typeIds, attentionMask: attentionMask, batch: batch)
        return logits.reshaped([ids.count, bert.config.vocabSize]).crossEntropy(targets: labels)
    }
}
