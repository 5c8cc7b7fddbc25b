// What pretraining asks of a model. The trainer's loop — seeded batches, AdamW, warm-up and cosine decay,
// clipping, accumulation, evaluations, checkpoints, data parallelism — is the same for every family; the objective
// says how a batch of token windows becomes a loss, how to show progress, and how the model is written. The notes'
// two families are two objectives: GPT predicts the next token (NextTokenPrediction, below), BERT names masked
// tokens (MaskedLMPretraining.swift).

import Formats
import Foundation
import Inference
import Models
import NN
import Tensors
import Tokenizers

public protocol PretrainingObjective: AnyObject {
    /// The module whose parameters are trained.
    var module: Module { get }
    /// The longest window of text tokens one example may hold (the model's context, less what the objective adds).
    var windowLimit: Int { get }
    /// Size of the token vocabulary the model scores (the loss of a uniform guess is its logarithm).
    var vocabularySize: Int { get }
    /// One line for the log: the architecture.
    var summary: String { get }
    /// The loss of this process's `rows` of a batch of windows (`batch.inputs`, with `batch.targets` shifted one token
    /// on), scaled so that the mean over the processes' shares is the whole batch's mean loss (and so is its gradient,
    /// which data parallelism averages). `draw` names the batch for objectives that draw at random (masks): the same
    /// draw gives the same loss, and every process draws what one process holding the whole batch would.
    func loss(_ batch: TokenBatch, draw: UInt64, rows: Range<Int>) -> Tensor
    /// A short demonstration of what the model has learnt from `prompt` (the model is left in training mode).
    func sample(prompt: String, tokens: Int) throws -> String
    /// Writes the model directory (config.json, model.safetensors, tokenizer files) that the other commands load.
    func save(to directory: String, metadata: [String: String]) throws
    /// Replaces the weights with those of a directory `save` wrote, refusing a different architecture.
    func restore(from directory: String) throws
}

/// GPT's objective (book chapter 5): the cross-entropy of every next token, with a greedy continuation as sample.
public final class NextTokenPrediction: PretrainingObjective {
    public let model: GPTModel
    public let encoding: Encoding

    public init(model: GPTModel, encoding: Encoding) throws {
        guard model.config.vocabSize >= encoding.vocabularySize else {
            throw DatasetError(description: "the model's vocabulary (\(model.config.vocabSize)) is smaller than \(encoding.name)'s (\(encoding.vocabularySize))")
        }
        (self.model, self.encoding) = (model, encoding)
    }

    public var module: Module { model }
    public var windowLimit: Int { model.config.contextLength }
    public var vocabularySize: Int { encoding.vocabularySize }
    public var summary: String {
        "\(model.parameterCount.formatted()) parameters (\(model.config.layers) layers, \(model.config.embeddingSize) wide, \(model.config.heads) heads)"
    }

    /// Every row has the same number of targets, so each share's mean is already its part of the batch's mean.
    public func loss(_ batch: TokenBatch, draw: UInt64, rows: Range<Int>) -> Tensor {
        let share = rows.count == batch.batchSize ? batch : batch.rows(rows)
        return model(share.inputs, batch: share.batchSize).crossEntropy(targets: share.targets)
    }

    public func sample(prompt: String, tokens: Int) throws -> String {
        let ids = encoding.encodeOrdinary(prompt)
        guard !ids.isEmpty else { return "" }
        let result = try model.generate(prompt: ids, encoding: encoding, options: SamplingOptions(maxNewTokens: tokens, temperature: 0))
        model.train()
        return prompt + result.text
    }

    public func save(to directory: String, metadata: [String: String]) throws {
        try Checkpoint.save(model, to: directory, metadata: metadata)
    }

    public func restore(from directory: String) throws {
        let saved = try Checkpoint.load(directory)
        var (savedShape, askedShape) = (saved.config, model.config)
        (savedShape.dropout, askedShape.dropout) = (0, 0) // the saved config.json is the inference one
        guard savedShape == askedShape else { throw DatasetError(description: "the checkpoint in \(directory) is a different model from the one asked for") }
        copyValues(from: saved.parameters, to: model.parameters)
    }
}

/// Copies parameter values one to one (a checkpoint into the model being trained).
func copyValues(from sources: [Tensor], to destinations: [Tensor]) {
    for (dst, src) in zip(destinations, sources) {
        src.withUnsafeBufferPointer { s in dst.withUnsafeMutableBufferPointer { d in _ = d.initialize(from: s) } }
    }
}
