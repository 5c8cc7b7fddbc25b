// BERT as a text classifier (Devlin et al. 2019, §4.1), the use the notes give the encoder family: the pooled
// [CLS] state — tanh(W_p · h[CLS]), the pooler BERT's pretraining already trained — goes through dropout and one
// linear layer to a score per class. Every token attends to every other, so [CLS] has read the whole text in
// both directions; a GPT's classifier must read the last token, the only one that has seen everything.
// Mean pooling (as sentence-transformers pools) reads instead the average of the last states of the text's tokens,
// [CLS] and [SEP] included, padding left out; it needs no pooler.
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
    /// What the head reads: the pooled [CLS] state (BERT's, transformers') or the mean of the tokens' last states.
    public let pooling: Pooling

    public enum Pooling: String, Sendable, CaseIterable {
        case cls, mean
    }

    /// A classifier on `bert` (which must have its pooler for `.cls`, and none for `.mean`) with a fresh head
    /// (N(0, 0.02), as BERT initialises).
    public init(bert: BERTModel, labels: [String], dropout p: Float = 0.1, seed: UInt64 = 0, pooling: Pooling = .cls) {
        precondition(labels.count >= 2, "a classifier needs at least two classes, got \(labels.count)")
        precondition((bert.pooler != nil) == (pooling == .cls), "a BERT classifier pooling by \(pooling) needs \(pooling == .cls ? "a" : "no") pooler")
        self.bert = bert
        self.pooling = pooling
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
        let out = bert(ids, attentionMask: mask, batch: batch)
        switch pooling {
        case .cls: return classifier(dropout(out.pooled!))
        case .mean:
            // (B, 1, T) weights 1/length on each token, 0 on padding, times the states (B, T, C): the means (B, C).
            let weights = Tensor(lengths.flatMap { n in [Float](repeating: 1 / Float(n), count: n) + [Float](repeating: 0, count: t - n) },
                                 shape: [batch, 1, t])
            return classifier(dropout(weights.matmul(out.hidden).reshaped([batch, bert.config.hiddenSize])))
        }
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
