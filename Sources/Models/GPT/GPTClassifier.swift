// A GPT turned into a text classifier (the book's chapter 6): the language-model head is replaced by
// a small linear layer from the hidden state to one logit per class, read at the last token of
// each text, the one position that (through the causal mask) has attended to the whole text.
//
//   ids (B, T) → GPTModel.hidden (B, T, C) → the row of each text's last real token (B, C) → score (B, K)
//
// Texts in a batch are padded with <|endoftext|> to the longest; because attention is causal, what
// comes after a text's last token never changes that token's hidden state, so the result does not
// depend on how much padding a batch has. (The book reads the very last position, padding
// included, which ties the prediction to the batch's padding; `transformers`' GPT2ForSequenceClassification
// reads the last non-padding token, as here.)
//
// On disk (Formats: ClassifierDirectory.swift) this is Hugging Face's GPT2ForSequenceClassification layout.

import Foundation
import NN
import Tensors

public final class GPTClassifier: Module, SequenceClassifier {
    public let backbone: GPTModel
    /// score: (C, K), no bias.
    public private(set) var head: Linear
    /// Class names by index.
    public let labels: [String]
    public let padTokenId: Int

    /// A classifier on top of `backbone` with a freshly initialised head (PyTorch's nn.Linear default).
    public init(backbone: GPTModel, labels: [String], padTokenId: Int = 50256, seed: UInt64 = 0) {
        precondition(labels.count >= 2, "a classifier needs at least two classes, got \(labels.count)")
        precondition(padTokenId >= 0 && padTokenId < backbone.config.vocabSize,
                     "the padding token \(padTokenId) is outside the vocabulary of \(backbone.config.vocabSize)")
        self.backbone = backbone
        var g = SeededGenerator(seed: seed)
        head = Linear(backbone.config.embeddingSize, labels.count, bias: false, generator: &g)
        self.labels = labels
        self.padTokenId = padTokenId
    }

    /// GPT2ForSequenceClassification's names ("transformer.h.0…", "score"), or Llama/Qwen3ForSequenceClassification's,
    /// whose backbone parameters already carry their "model." prefix.
    override public var children: [(String, Module)] {
        backbone.config.isLlamaFamily ? backbone.children + [("score", head)] : [("transformer", backbone), ("score", head)]
    }

    /// The configuration written to config.json: the backbone's, with the labels and the padding token.
    public var config: GPTConfig {
        var c = backbone.config
        c.labels = labels
        c.padTokenId = padTokenId
        return c
    }

    /// Class logits (B, K) for `batch` texts given row-major as ids (B, T), each text `lengths[b]`
    /// tokens long followed by padding.
    public func callAsFunction(_ ids: [Int], batch: Int, lengths: [Int]) -> Tensor {
        classify(backbone.hidden(ids, batch: batch), lengths: lengths)
    }

    /// Class logits (B, K) from the hidden states `x` (B, T, C) that enter block `first` (what
    /// `backbone.hidden(ids, batch:, throughBlocks: first)` gives).
    public func logits(continuing x: Tensor, fromBlock first: Int, lengths: [Int]) -> Tensor {
        classify(backbone.hidden(continuing: x, fromBlock: first), lengths: lengths)
    }

    /// The head on each text's last real token of the final hidden states h (B, T, C).
    func classify(_ h: Tensor, lengths: [Int]) -> Tensor {
        let (b, t) = (h.shape[0], h.shape[1])
        precondition(lengths.count == b && lengths.allSatisfy { $0 >= 1 && $0 <= t },
                     "lengths \(lengths) do not fit \(b) texts of \(t) tokens")
        let rows = h.reshaped([b * t, h.shape[2]])                                                     // (B*T, C)
        let last = rows.indexSelect(0, lengths.enumerated().map { $0.offset * t + $0.element - 1 })    // (B, C)
        return head(last)                                                                              // (B, K)
    }

    /// The context length: longer texts keep their first tokens, as training truncates.
    public var maxTokens: Int { backbone.config.contextLength }

    // MARK: LoRA and the classifier's own layers

    /// Freezes everything but the last `lastBlocks` transformer blocks, the final norm and the head
    /// (the book trains the last block); nil trains every parameter.
    public func freezeAllBut(lastBlocks: Int?) {
        setTrainable(lastBlocks == nil)
        guard let n = lastBlocks else { return }
        for block in backbone.blocks.suffix(n) { block.setTrainable(true) }
        backbone.finalNorm.setTrainable(true)
        head.setTrainable(true)
    }

    func applyHeadLoRA(rank: Int, alpha: Float, generator: inout SeededGenerator) {
        head = LinearWithLoRA(head, rank: rank, alpha: alpha, generator: &generator)
    }

    func mergeHeadLoRA() { head = head.merged() }
}
