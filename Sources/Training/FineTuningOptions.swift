// What both fine-tuning loops (ClassifierTrainer, InstructionTrainer) take and report.

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
