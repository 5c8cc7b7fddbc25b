// Classification fine-tuning (the book's chapter 6): cross-entropy on the class logits of each text,
// AdamW on the trainable parameters only (frozen ones get no gradient and no optimizer state), loss
// and accuracy on every split after each epoch, and early stopping on the validation loss: when it
// has not improved for `patience` epochs training stops, and the weights of the best epoch are put back.

import Foundation
import GPT
import NN
import Tensors

/// Settings shared by both fine-tuning routes (defaults: the book's).
public struct FineTuningOptions: Codable, Sendable {
    public var epochs = 5
    public var batchSize = 8
    public var learningRate: Float = 5e-5
    public var weightDecay: Float = 0.1
    /// Clip gradients to this global L2 norm (nil: no clipping, as the book).
    public var gradientClip: Float?
    /// Stop after this many epochs without a better validation loss (nil: never stop early).
    public var patience: Int?
    public var seed: UInt64 = 123

    public init() {}
}

public struct ClassificationMetrics: Codable, Sendable {
    public let epoch: Int
    public let examplesSeen: Int
    public let trainLoss: Float, trainAccuracy: Float
    public let validationLoss: Float?, validationAccuracy: Float?
    public let testLoss: Float?, testAccuracy: Float?
}

/// What fine-tuning reports while it runs.
public enum FineTuningEvent {
    case step(step: Int, totalSteps: Int, loss: Float, examplesPerSecond: Double)
    case classificationEpoch(ClassificationMetrics)
    case evaluation(step: Int, trainLoss: Float, validationLoss: Float?)
    case stoppedEarly(epoch: Int, bestEpoch: Int)
}

public final class ClassifierTrainer {
    public let model: GPTClassifier
    public let options: FineTuningOptions
    public let optimizer: AdamW
    let train: ClassificationDataset, validation: ClassificationDataset?, test: ClassificationDataset?
    public private(set) var history: [ClassificationMetrics] = []
    /// The epoch whose weights the model holds after `run` (the best by validation loss).
    public private(set) var bestEpoch: Int?

    public init(model: GPTClassifier, train: ClassificationDataset, validation: ClassificationDataset?, test: ClassificationDataset?,
                options: FineTuningOptions) throws {
        guard train.count >= options.batchSize else {
            throw DatasetError(description: "\(train.count) training examples do not fill one batch of \(options.batchSize)")
        }
        let trainable = model.trainableParameters
        guard !trainable.isEmpty else { throw DatasetError(description: "every parameter is frozen: nothing to train") }
        self.model = model
        self.options = options
        self.train = train
        self.validation = validation?.count == 0 ? nil : validation
        self.test = test?.count == 0 ? nil : test
        optimizer = AdamW(parameters: trainable, learningRate: options.learningRate, weightDecay: options.weightDecay)
    }

    public var stepsPerEpoch: Int { train.count / options.batchSize }

    /// Mean loss and accuracy over a whole split, in evaluation mode and without gradients.
    public func evaluate(_ data: ClassificationDataset) -> (loss: Float, accuracy: Float) {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var loss: Double = 0, correct = 0
        for b in data.batches(size: options.batchSize, padTokenId: model.padTokenId) {
            let logits = Autograd.withNoGrad { model(b.ids, batch: b.batchSize, lengths: b.lengths) } // (B, K)
            loss += Double(Autograd.withNoGrad { logits.crossEntropy(targets: b.labels) }.item()) * Double(b.batchSize)
            let k = model.labels.count, p = logits.scalars
            for (row, label) in b.labels.enumerated() {
                let scores = p[(row * k)..<((row + 1) * k)]
                if scores.indices.max(by: { scores[$0] < scores[$1] })! - row * k == label { correct += 1 }
            }
        }
        return (Float(loss / Double(data.count)), Float(correct) / Float(data.count))
    }

    /// Trains for `options.epochs` epochs (fewer when stopping early) and returns the metrics of each.
    public func run(onEvent: (FineTuningEvent) -> Void = { _ in }) throws -> [ClassificationMetrics] {
        let totalSteps = stepsPerEpoch * options.epochs
        var step = 0, seen = 0, bestLoss = Float.infinity, sinceBest = 0
        var best: [[Float]]?
        var trainingSeconds = 0.0 // evaluations excluded from the examples/s figure
        for epoch in 1...options.epochs {
            model.train()
            for b in train.batches(size: options.batchSize, shuffle: true, dropLast: true, seed: options.seed, epoch: epoch,
                                   padTokenId: model.padTokenId) {
                let stepStart = Date()
                model.reseedDropout(options.seed &+ UInt64(step))
                optimizer.zeroGrad()
                let loss = model(b.ids, batch: b.batchSize, lengths: b.lengths).crossEntropy(targets: b.labels)
                loss.backward()
                guard loss.item().isFinite else {
                    throw DatasetError(description: "the loss became \(loss.item()) at step \(step + 1); lower the learning rate (--lr)")
                }
                if let clip = options.gradientClip { optimizer.clipGradients(maxNorm: clip) }
                optimizer.update()
                step += 1
                seen += b.batchSize
                trainingSeconds += Date().timeIntervalSince(stepStart)
                onEvent(.step(step: step, totalSteps: totalSteps, loss: loss.item(),
                              examplesPerSecond: Double(seen) / max(trainingSeconds, 1e-9)))
            }
            let (trainLoss, trainAccuracy) = evaluate(train)
            let v = validation.map(evaluate), t = test.map(evaluate)
            let metrics = ClassificationMetrics(epoch: epoch, examplesSeen: seen, trainLoss: trainLoss, trainAccuracy: trainAccuracy,
                                                validationLoss: v?.loss, validationAccuracy: v?.accuracy,
                                                testLoss: t?.loss, testAccuracy: t?.accuracy)
            history.append(metrics)
            onEvent(.classificationEpoch(metrics))
            guard let validationLoss = v?.loss else { continue }
            if validationLoss < bestLoss {
                bestLoss = validationLoss
                bestEpoch = epoch
                sinceBest = 0
                if epoch < options.epochs { best = model.trainableParameters.map(\.scalars) }
                else { best = nil } // the model already holds the best weights
            } else {
                sinceBest += 1
                if let patience = options.patience, sinceBest >= patience, epoch < options.epochs {
                    onEvent(.stoppedEarly(epoch: epoch, bestEpoch: bestEpoch ?? epoch))
                    break
                }
            }
        }
        if let best, bestEpoch != history.last?.epoch {
            for (p, values) in zip(model.trainableParameters, best) { p.withUnsafeMutableBufferPointer { _ = $0.initialize(from: values) } }
        }
        return history
    }
}
