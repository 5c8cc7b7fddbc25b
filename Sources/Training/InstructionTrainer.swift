// Instruction fine-tuning (the book's chapter 7): next-token cross-entropy on Alpaca-formatted
// examples, padding targets (and optionally the prompt) ignored; the training and validation loss
// every `evalEvery` steps; afterwards, greedy answers for held-out instructions.

import Foundation
import GPT
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

    /// Trains for `options.epochs` epochs; returns the evaluations.
    public func run(onEvent: (FineTuningEvent) -> Void = { _ in }) throws -> [InstructionEvaluation] {
        let totalSteps = stepsPerEpoch * options.epochs
        var step = 0, seen = 0, tokens = 0
        var trainingSeconds = 0.0 // evaluations excluded from the examples/s figure
        for epoch in 1...options.epochs {
            model.train()
            for b in batches(train, shuffle: true, epoch: epoch) {
                let stepStart = Date()
                let loss = try options.step(model, optimizer, index: step) { model(b.inputs, batch: b.batchSize).crossEntropy(targets: b.targets) }
                step += 1
                seen += b.batchSize
                trainingSeconds += Date().timeIntervalSince(stepStart)
                tokens += b.inputs.count
                onEvent(.step(step: step, totalSteps: totalSteps, loss: loss,
                              examplesPerSecond: Double(seen) / max(trainingSeconds, 1e-9)))
                if step % evalEvery == 0 || step == totalSteps {
                    let record = InstructionEvaluation(step: step, tokensSeen: tokens, trainLoss: meanLoss(on: train, limit: evalBatches),
                                                       validationLoss: validation.map { meanLoss(on: $0, limit: evalBatches) })
                    evaluations.append(record)
                    onEvent(.evaluation(step: step, trainLoss: record.trainLoss, validationLoss: record.validationLoss))
                }
            }
        }
        return evaluations
    }
}

extension GPTModel {
    /// The model's greedy answer to an instruction: the text it generates after the prompt and the
    /// response header, up to <|endoftext|>, trimmed.
    public func respond(to example: InstructionExample, encoding: Encoding, maxNewTokens: Int = 256) throws -> String {
        var options = SamplingOptions(maxNewTokens: maxNewTokens, temperature: 0)
        if let end = encoding.specialTokens["<|endoftext|>"] { options.stopTokens = [end] }
        let result = try generate(prompt: encoding.encodeOrdinary(example.promptWithResponseHeader), encoding: encoding, options: options)
        return result.text.replacingOccurrences(of: "### Response:", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
