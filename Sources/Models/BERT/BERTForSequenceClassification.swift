// BERT as a text classifier (Devlin et al. 2019, §4.1), the use the notes give the encoder family: the pooled
// [CLS] state — tanh(W_p · h[CLS]), the pooler BERT's pretraining already trained — goes through dropout and one
// linear layer to a score per class. Every token attends to every other, so [CLS] has read the whole text in
// both directions; a GPT's classifier must read the last token, the only one that has seen everything.
//
//   ids [CLS] text [SEP] pad… (B, T) → BERTModel (padding masked) → pooled (B, C) → dropout → W · + b (B, K)
//
// Names are Hugging Face's BertForSequenceClassification ("bert.…", "classifier"); on disk see
// Formats/HuggingFace/BERTCheckpoint.swift.

import Foundation
import NN
import Tensors

public final class BERTForSequenceClassification: Module, SequenceClassifier {
    public let bert: BERTModel
    public let dropout: Dropout
    public internal(set) var classifier: Linear
    /// Class names by index.
    public let labels: [String]
    public var padTokenId: Int { bert.config.padTokenId }
    public var maxTokens: Int { bert.config.maxPositions }

    /// A classifier on `bert` (which must have its pooler) with a fresh head (N(0, 0.02), as BERT initialises).
    public init(bert: BERTModel, labels: [String], dropout p: Float = 0.1, seed: UInt64 = 0) {
        precondition(labels.count >= 2, "a classifier needs at least two classes, got \(labels.count)")
        precondition(bert.pooler != nil, "a BERT classifier reads the pooled [CLS] state: this encoder has no pooler")
        self.bert = bert
        var g = SeededGenerator(seed: seed)
        classifier = Linear(bert.config.hiddenSize, labels.count, std: 0.02, generator: &g)
        dropout = Dropout(p, seed: g.next())
        self.labels = labels
    }

    override public var children: [(String, Module)] { [("bert", bert), ("dropout", dropout), ("classifier", classifier)] }

    /// The configuration written to config.json: the encoder's, with the labels.
    public var config: BERTConfig {
        var c = bert.config
        c.numLabels = labels.count
        c.architectures = ["BertForSequenceClassification"]
        return c
    }

    /// Class logits (B, K) for `batch` texts given row-major as ids (B, T), each `lengths[b]` tokens ([CLS] … [SEP])
    /// followed by padding.
    public func callAsFunction(_ ids: [Int], batch: Int, lengths: [Int]) -> Tensor {
        let t = ids.count / batch
        precondition(lengths.count == batch && lengths.allSatisfy { $0 >= 1 && $0 <= t }, "lengths \(lengths) do not fit \(batch) texts of \(t) tokens")
        let mask = lengths.flatMap { [Int](repeating: 1, count: $0) + [Int](repeating: 0, count: t - $0) }
        return classifier(dropout(bert(ids, attentionMask: mask, batch: batch).pooled!))
    }

    /// Freezes everything but the last `lastBlocks` layers, the pooler and the head; nil trains every parameter.
    public func freezeAllBut(lastBlocks: Int?) {
        setTrainable(lastBlocks == nil)
        guard let n = lastBlocks else { return }
        for layer in bert.layers.suffix(n) { layer.setTrainable(true) }
        bert.pooler?.setTrainable(true)
        classifier.setTrainable(true)
    }
}
