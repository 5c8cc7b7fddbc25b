// LoRA on whole models (the layer itself: NN's LoRA.swift; adapter files: Formats' LoRAAdapterFiles.swift): GPTs,
// their classifiers, and BERT encoders and classifiers.
//
// `applyLoRA` wraps every linear layer of every transformer block (c_attn with one adapter per query,
// key and value block, attn c_proj, mlp c_fc and c_proj) and, on a classifier, the score head, as the
// book's replace_linear_with_lora does. The language-model head (tied to the 50,257 × C token
// embeddings) is left alone: adapting it would train more numbers than all the blocks together.

import Foundation
import NN
import Tensors

/// A model whose linear layers can take LoRA adapters.
public protocol LoRAAdaptable: Module {
    /// Wraps the model's linear layers with fresh adapters (B = 0, so the output does not change).
    func applyLoRA(rank: Int, alpha: Float, seed: UInt64)
    /// Folds every adapter into its base weight, leaving plain Linear layers.
    func mergeLoRA()
}

extension GPTModel: LoRAAdaptable {
    public func applyLoRA(rank: Int, alpha: Float, seed: UInt64 = 0) {
        var g = SeededGenerator(seed: seed)
        for block in blocks {
            block.attention.applyLoRA(rank: rank, alpha: alpha, generator: &g)
            block.mlp.applyLoRA(rank: rank, alpha: alpha, generator: &g)
        }
    }

    public func mergeLoRA() {
        for block in blocks {
            block.attention.mergeLoRA()
            block.mlp.mergeLoRA()
        }
    }
}

extension GPTClassifier: LoRAAdaptable {
    public func applyLoRA(rank: Int, alpha: Float, seed: UInt64 = 0) {
        backbone.applyLoRA(rank: rank, alpha: alpha, seed: seed)
        var g = SeededGenerator(seed: seed &+ 1)
        applyHeadLoRA(rank: rank, alpha: alpha, generator: &g)
    }

    public func mergeLoRA() {
        backbone.mergeLoRA()
        mergeHeadLoRA()
    }
}

extension BERTModel: LoRAAdaptable {
    /// Every linear layer of every encoder layer: query, key, value, attention output, intermediate, output.
    public func applyLoRA(rank: Int, alpha: Float, seed: UInt64 = 0) {
        var g = SeededGenerator(seed: seed)
        for l in layers {
            l.query = LinearWithLoRA(l.query, rank: rank, alpha: alpha, generator: &g)
            l.key = LinearWithLoRA(l.key, rank: rank, alpha: alpha, generator: &g)
            l.value = LinearWithLoRA(l.value, rank: rank, alpha: alpha, generator: &g)
            l.attentionOutput = LinearWithLoRA(l.attentionOutput, rank: rank, alpha: alpha, generator: &g)
            l.intermediate = LinearWithLoRA(l.intermediate, rank: rank, alpha: alpha, generator: &g)
            l.output = LinearWithLoRA(l.output, rank: rank, alpha: alpha, generator: &g)
        }
    }

    public func mergeLoRA() {
        for l in layers {
            (l.query, l.key, l.value) = (l.query.merged(), l.key.merged(), l.value.merged())
            (l.attentionOutput, l.intermediate, l.output) = (l.attentionOutput.merged(), l.intermediate.merged(), l.output.merged())
        }
    }
}

extension BERTForSequenceClassification: LoRAAdaptable {
    /// The encoder's layers and the classifier head (as on a GPT classifier); the pooler stays frozen.
    public func applyLoRA(rank: Int, alpha: Float, seed: UInt64 = 0) {
        bert.applyLoRA(rank: rank, alpha: alpha, seed: seed)
        var g = SeededGenerator(seed: seed &+ 1)
        classifier = LinearWithLoRA(classifier, rank: rank, alpha: alpha, generator: &g)
    }

    public func mergeLoRA() {
        bert.mergeLoRA()
        classifier = classifier.merged()
    }
}
