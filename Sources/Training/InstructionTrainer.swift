// Instruction fine-tuning (the book's chapter 7): next-token cross-entropy on Alpaca-formatted
// examples, padding targets (and optionally the prompt) ignored; the training and validation loss
// every `evalEvery` steps; afterwards, greedy answers for held-out instructions.

import Foundation
import Inference
import Models
import NN
import Tensors
import Tokenizers

public struct InstructionEvaluation: Codable, Sendable {
    public let step: Int
    public let tokensSeen: Int
    public let trainLoss: Float
    public let validationLoss: Float?
}

public final class InstructionTrainer {
    public let model: GPTModel
    public let options: FineTuningOptions
    public let optimizer: AdamW
    let train: InstructionDataset, validation: InstructionDataset?
    public var maskPrompt = false
    /// Evaluate every this many steps, on at most `evalBatches` batches of each split (the book: 5 and 5).
    public var evalEvery = 5, evalBatches = 5
    public private(set) var evaluations: [InstructionEvaluation] = []

    public init(model: GPTModel, train: InstructionDataset, validation: InstructionDataset?, options: FineTuningOptions) throws {
        optimizer = try options.optimizer(for: model, trainingExamples: train.count)
        self.model = model
        self.options = options
        self.train = train
        self.validation = validation?.count == 0 ? nil : validation
    }

    public var stepsPerEpoch: Int { train.count / options.batchSize }

    func batches(_ data: InstructionDataset, shuffle: Bool, epoch: Int) -> [InstructionBatch] {
        data.batches(size: options.batchSize, shuffle: shuffle, dropLast: shuffle, seed: options.seed, epoch: epoch,
                     maskPrompt: maskPrompt, maxLength: model.config.contextLength)
    }

    /// Mean loss over the first `limit` batches of a split, without gradients.
    public func meanLoss(on data: InstructionDataset, limit: Int? = nil) -> Float {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let all = batches(data, shuffle: false, epoch: 0)
        let chosen = all.prefix(limit ?? all.count)
        let total = chosen.reduce(0.0) { sum, b in
            sum + Double(Autograd.withNoGrad { model(b.inputs, batch: b.batchSize).crossEntropy(targets: b.targets) }.item())
        }
        return Float(total / Double(max(chosen.count, 1)))
    }

    // Progress, kept here so that a checkpoint can save it and `resume` put it back.
    public private(set) var step = 0
    var seen = 0, tokens = 0
    /// Whether the last `run` ended because `stopRequested` said so (it can be resumed).
    public private(set) var stoppedEarly = false

    /// Trains for `options.epochs` epochs; returns the evaluations. `save` is called every `saveEvery` steps
    /// (after that step's evaluation, if any), at the end of every epoch but the last, and when `stopRequested`
    /// (checked after each step: Ctrl-C) ends the run early; a run resumed from what it saved continues exactly.
    public func run(saveEvery: Int? = nil, save: ((InstructionTrainer) throws -> Void)? = nil, stopRequested: () -> Bool = { false },
                    onEvent: (FineTuningEvent) -> Void = { _ in }) throws -> [InstructionEvaluation] {
        let totalSteps = stepsPerEpoch * options.epochs
        var trainingSeconds = 0.0, examplesTimed = 0 // evaluations excluded from the examples/s figure
        stoppedEarly = false
        for epoch in stride(from: step / max(stepsPerEpoch, 1) + 1, through: options.epochs, by: 1) { // a resumed run: from its epoch
            model.train()
            let epochBatches = batches(train, shuffle: true, epoch: epoch)
            for (i, b) in epochBatches.enumerated() where (epoch - 1) * stepsPerEpoch + i >= step {
                let stepStart = Date()
                let loss = try options.step(model, optimizer, index: step) { model(b.inputs, batch: b.batchSize).crossEntropy(targets: b.targets) }
                step += 1
                seen += b.batchSize
                examplesTimed += b.batchSize
                trainingSeconds += Date().timeIntervalSince(stepStart)
                tokens += b.inputs.count
                onEvent(.step(step: step, totalSteps: totalSteps, loss: loss,
                              examplesPerSecond: Double(examplesTimed) / max(trainingSeconds, 1e-9)))
                if step % evalEvery == 0 || step == totalSteps {
                    let record = InstructionEvaluation(step: step, tokensSeen: tokens, trainLoss: meanLoss(on: train, limit: evalBatches),
                                                       validationLoss: validation.map { meanLoss(on: $0, limit: evalBatches) })
                    evaluations.append(record)
                    onEvent(.evaluation(step: step, trainLoss: record.trainLoss, validationLoss: record.validationLoss))
                }
                let stopping = stopRequested() && step < totalSteps
                let epochEnd = i + 1 == epochBatches.count && epoch < options.epochs
                if stopping || epochEnd || saveEvery.map({ step % $0 == 0 && step < totalSteps }) == true { try save?(self) }
                if stopping {
                    stoppedEarly = true
                    return evaluations
                }
            }
        }
        return evaluations
    }
}

// MARK: Checkpoints

extension InstructionTrainer {
    struct SavedState: Codable {
        let step: Int, examplesSeen: Int, tokensSeen: Int
        let evaluations: [InstructionEvaluation]
    }

    /// Writes the trainable weights, the optimizer state and the progress into `directory` (see FineTuningCheckpoint).
    public func save(to directory: String) throws {
        try FineTuningCheckpoint.save(model: model, optimizer: optimizer, best: nil,
                                      state: SavedState(step: step, examplesSeen: seen, tokensSeen: tokens, evaluations: evaluations),
                                      to: directory)
    }

    /// Continues from what `save` wrote, on a model built as the saved run's was.
    public func resume(from directory: String) throws {
        let (saved, _) = try FineTuningCheckpoint.load(SavedState.self, model: model, optimizer: optimizer, from: directory)
        step = saved.step
        seen = saved.examplesSeen
        tokens = saved.tokensSeen
        evaluations = saved.evaluations
    }
}

extension GPTModel {
    /// The model's greedy answer to an instruction: the text it generates after the prompt and the
    /// response header, up to the end-of-text token, trimmed.
    public func respond(to example: InstructionExample, encoding: Encoding, maxNewTokens: Int = 256) throws -> String {
        var options = SamplingOptions(maxNewTokens: maxNewTokens, temperature: 0)
        if let end = encoding.endOfText { options.stopTokens = Set([end] + config.endTokenIds) }
        let result = try generate(prompt: encoding.encodeOrdinary(example.promptWithResponseHeader), encoding: encoding, options: options)
        return result.text.replacingOccurrences(of: "### Response:", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
