// What both fine-tuning loops (ClassifierTrainer, InstructionTrainer) take and report, and the parts
// of their loops that are the same: the optimizer over the trainable parameters, and one step.

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

/// What fine-tuning reports while it runs.
public enum FineTuningEvent {
    case step(step: Int, totalSteps: Int, loss: Float, examplesPerSecond: Double)
    case classificationEpoch(ClassificationMetrics)
    case evaluation(step: Int, trainLoss: Float, validationLoss: Float?)
    case stoppedEarly(epoch: Int, bestEpoch: Int)
}

extension FineTuningOptions {
    /// AdamW over the trainable parameters of `model` (frozen ones get neither gradients nor optimizer
    /// state), after checking that `trainingExamples` fill one batch and that something trains.
    func optimizer(for model: Module, trainingExamples: Int) throws -> AdamW {
        guard trainingExamples >= batchSize else {
            throw DatasetError(description: "\(trainingExamples) training examples do not fill one batch of \(batchSize)")
        }
        let trainable = model.trainableParameters
        guard !trainable.isEmpty else { throw DatasetError(description: "every parameter is frozen: nothing to train") }
        return AdamW(parameters: trainable, learningRate: learningRate, weightDecay: weightDecay)
    }

    /// Optimizer step number `index` (0-based) on the loss `loss` computes; returns the loss. Dropout is
    /// reseeded from the step, so a run is reproducible from its seed.
    func step(_ model: Module, _ optimizer: AdamW, index: Int, loss: () -> Tensor) throws -> Float {
        model.reseedDropout(seed &+ UInt64(index))
        optimizer.zeroGrad()
        let loss = loss()
        let value = loss.item()
        guard value.isFinite else {
            throw DatasetError(description: "the loss became \(value) at step \(index + 1); lower the learning rate (--lr)")
        }
        loss.backward()
        if let gradientClip { optimizer.clipGradients(maxNorm: gradientClip) }
        optimizer.update()
        return value
    }
}
