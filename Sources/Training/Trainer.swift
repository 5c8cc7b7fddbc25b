// Pretraining (book chapter 5), with what a real run needs: AdamW, linear warm-up then cosine decay, gradient
// clipping by global norm, gradient accumulation, evaluation every N steps (loss and perplexity) with a sample,
// checkpoints a run can resume from. What the loss is comes from the objective (PretrainingObjective.swift): next-token
// prediction for a GPT, masked-language modelling for a BERT.
//
// Reproducibility: batches come from a seeded shuffle per epoch and dropout is reseeded from the step
// number, so a run resumed from a checkpoint computes the same losses as one that never stopped; dropout masks are
// a function of each element's place in the global batch, so data-parallel processes drop what one process would.

import Formats
import Foundation
import Inference
import Models
import NN
import Tensors
import Tokenizers

public struct TrainingOptions: Codable, Sendable {
    public var contextLength = 256
    public var batchSize = 8
    /// Train for this many epochs, unless `maxSteps` comes first.
    public var epochs = 1
    public var maxSteps: Int?
    public var learningRate: Float = 4e-4
    public var weightDecay: Float = 0.1
    public var warmupSteps = 0
    /// The cosine decay ends at this fraction of the peak rate.
    public var minLearningRateFraction: Float = 0.1
    /// Clip gradients to this global L2 norm (nil: no clipping).
    public var gradientClip: Float? = 1.0
    /// Micro-batches whose gradients are summed before each optimizer step.
    public var gradientAccumulation = 1
    public var evalEvery = 50
    /// Batches of each split per evaluation (nil: all validation batches, and as many training batches).
    /// The book's `eval_iter`.
    public var evalBatches: Int?
    public var seed: UInt64 = 123
    /// Window stride of the training data (nil: the context length, so windows do not overlap).
    public var stride: Int?
    public var samplePrompt = "Every effort moves you"
    public var sampleTokens = 25

    public init() {}
}

public struct EvaluationRecord: Codable, Sendable {
    public let step: Int
    public let tokensSeen: Int
    /// The model in evaluation mode over the first `evalBatches` training batches: the book's "train loss"
    /// (`evaluate_model`), measured as the validation loss is.
    public let trainLoss: Float
    public let validationLoss: Float?
    /// The loss of the step just taken (training mode, dropout on): the running figure a progress bar shows.
    public var runningTrainLoss: Float?
    public let sample: String
}

public struct TrainingSummary: Codable, Sendable {
    public var steps: Int
    public var tokens: Int
    public var trainLoss: Float
    public var validationLoss: Float?
    public var tokensPerSecond: Double
    public var seconds: Double
    public var trainCurve: [[Float]] // [tokens seen, loss] per step
    public var evaluations: [EvaluationRecord]
    /// The median of this run's steps' wall times (forward, backward, gradient sums, update; no evaluations).
    public var medianStepSeconds: Double
}

/// What the trainer reports while it runs.
public enum TrainingEvent {
    case step(step: Int, totalSteps: Int, loss: Float, learningRate: Float, tokensPerSecond: Double)
    case evaluation(EvaluationRecord)
}

public final class Trainer {
    public let objective: PretrainingObjective
    public var model: Module { objective.module }
    public let options: TrainingOptions
    public let optimizer: AdamW
    let train: DataLoader
    /// The training windows in order, for measuring the training loss as the validation loss is measured.
    let trainInOrder: DataLoader
    let validation: DataLoader?
    public private(set) var step = 0
    public private(set) var tokensSeen = 0
    public private(set) var history: [[Float]] = []
    public private(set) var evaluations: [EvaluationRecord] = []
    /// The processes training this model together (DataParallel.swift), or nil for one process.
    public let group: DataParallelGroup?
    /// With a group: sum gradients while the backward pass runs (true), or all after it.
    public var overlapCommunication = true
    /// With a group: the size of the gradient buckets summed together (DDP's bucket_cap_mb), read by the first `run`.
    public var bucketBytes = 25 << 20
    /// With a group: shard AdamW's moments over the processes (ZeRO stage 1, ZeroRedundancy.swift); read by the
    /// first `run` (and by `resume`, which must come after setting it).
    public var zeroRedundancy = false
    private var averager: GradientAverager?
    private var optimizerShard: OptimizerShard?
    /// Sharded: a resumed optimizer state waiting for the shard (made by the first `run`), and the state gathered
    /// for the checkpoint being written.
    private var resumedState: (step: Int, first: [[Float]], second: [[Float]])?
    private var gatheredState: (step: Int, first: [[Float]], second: [[Float]])?
    /// With a group: seconds the steps spent waiting for gradient sums after their backward passes.
    public var communicationWaitSeconds: Double { averager?.waitSeconds ?? 0 }

    /// `trainTokens`/`validationTokens` are token ids; validation may be empty.
    public convenience init(model: GPTModel, encoding: Encoding, trainTokens: [Int], validationTokens: [Int], options: TrainingOptions) throws {
        try self.init(model: model, encoding: encoding, train: TokenStore(trainTokens), validation: TokenStore(validationTokens), options: options)
    }

    /// Training and validation tokens in memory or memory-mapped from a token file.
    /// With a `group`, `options.batchSize` is each process's share: the batches are those one process would take
    /// with batchSize × group.size, and this process trains on its rows of each.
    public convenience init(model: GPTModel, encoding: Encoding, train trainTokens: TokenStore, validation validationTokens: TokenStore,
                            options: TrainingOptions, group: DataParallelGroup? = nil) throws {
        try self.init(objective: NextTokenPrediction(model: model, encoding: encoding), train: trainTokens, validation: validationTokens,
                      options: options, group: group)
    }

    /// Any objective: windows of `options.contextLength` tokens, at most the objective's `windowLimit`.
    public init(objective: PretrainingObjective, train trainTokens: TokenStore, validation validationTokens: TokenStore,
                options: TrainingOptions, group: DataParallelGroup? = nil) throws {
        guard options.contextLength <= objective.windowLimit else {
            throw DatasetError(description: "the context length \(options.contextLength) is larger than the model's \(objective.windowLimit)")
        }
        guard options.batchSize >= 1, options.gradientAccumulation >= 1, options.evalEvery >= 1 else {
            throw DatasetError(description: "batch size, gradient accumulation and evaluation interval must be at least 1")
        }
        guard options.learningRate > 0, options.learningRate.isFinite else {
            throw DatasetError(description: "the learning rate must be a positive number, got \(options.learningRate)")
        }
        self.objective = objective
        self.options = options
        self.group = group
        let globalBatch = options.batchSize * (group?.size ?? 1)
        let trainSet = try SlidingWindowDataset(store: trainTokens, maxLength: options.contextLength,
                                                stride: options.stride ?? options.contextLength, contextLimit: objective.windowLimit)
        train = try DataLoader(trainSet, batchSize: globalBatch, shuffle: true, dropLast: true, seed: options.seed)
        trainInOrder = try DataLoader(trainSet, batchSize: globalBatch, shuffle: false, dropLast: true)
        guard train.count >= 1 else {
            throw DatasetError(description: "\(trainSet.count) training windows do not fill one batch of \(globalBatch); use a smaller --batch-size or --context-length")
        }
        if validationTokens.count > options.contextLength {
            let valSet = try SlidingWindowDataset(store: validationTokens, maxLength: options.contextLength, stride: options.contextLength)
            validation = try DataLoader(valSet, batchSize: globalBatch, shuffle: false, dropLast: false)
        } else {
            validation = nil
        }
        optimizer = AdamW(parameters: objective.module.parameters, learningRate: options.learningRate, beta1: 0.9, beta2: 0.999,
                          weightDecay: options.weightDecay)
    }

    /// Optimizer steps in the whole run.
    public var totalSteps: Int {
        let perEpoch = max(train.count / options.gradientAccumulation, 1)
        return min(options.maxSteps ?? Int.max, perEpoch * options.epochs)
    }

    /// Linear warm-up to the peak, then cosine decay to `minLearningRateFraction` of it.
    public func learningRate(at step: Int) -> Float {
        let peak = options.learningRate
        if step <= options.warmupSteps { return peak * Float(step) / Float(max(options.warmupSteps, 1)) }
        let progress = Float(step - options.warmupSteps) / Float(max(totalSteps - options.warmupSteps, 1))
        let floor = options.minLearningRateFraction
        return peak * (floor + (1 - floor) * 0.5 * (1 + Foundation.cos(Float.pi * min(progress, 1))))
    }

    /// Mean loss over a set of batches, without gradients. In a group each rank computes its share of the batches
    /// (every size-th one) and the sum is exchanged. Batch i is drawn the same way at every evaluation (the same
    /// masks), so evaluations compare.
    public func loss(over batches: [TokenBatch]) -> Float {
        guard !batches.isEmpty else { return .nan }
        model.eval()
        defer { model.train() }
        var total: Double = 0
        for (i, b) in batches.enumerated() where group.map({ i % $0.size == $0.rank }) ?? true {
            total += Double(Autograd.withNoGrad { objective.loss(b, draw: Self.evaluationDraw &+ UInt64(i), rows: 0..<b.batchSize) }.item())
        }
        if let group {
            var sums = [total]
            group.sum(&sums)
            total = sums[0]
        }
        return Float(total / Double(batches.count))
    }

    /// Evaluation draws are numbered apart from the training steps' ones.
    static let evaluationDraw: UInt64 = 0xE7A1_0000_0000_0000

    public func validationLoss() -> Float? {
        guard let validation else { return nil }
        return loss(over: validation.batches(epoch: 0, limit: options.evalBatches))
    }

    /// The training loss as the book reports it: evaluation mode, no gradients, over the first `evalBatches`
    /// training batches (as many as the validation loss uses when not set).
    public func trainingLoss() -> Float {
        loss(over: trainInOrder.batches(epoch: 0, limit: options.evalBatches ?? validation?.count ?? trainInOrder.count))
    }

    /// Whether the last `run` ended because `stopRequested` said so.
    public private(set) var stoppedEarly = false

    /// Trains until `totalSteps` (or until step `stop`, to pause a run), reporting through `onEvent`.
    /// `save` is called every `saveEvery` steps (after that step's evaluation, if any), at the last step, and
    /// when `stopRequested` (checked after each step: Ctrl-C) ends the run early. In a group every process must pass
    /// a `save` (one that writes nothing on all but one): with ZeRO-1 they gather the optimizer state together.
    public func run(until stop: Int? = nil, saveEvery: Int? = nil, save: ((Trainer) throws -> Void)? = nil,
                    stopRequested: () -> Bool = { false }, onEvent: (TrainingEvent) -> Void = { _ in }) throws -> TrainingSummary {
        stoppedEarly = false
        if let group, averager == nil {
            let averager = GradientAverager(parameters: model.parameters, group: group, bucketBytes: bucketBytes, sharded: zeroRedundancy)
            self.averager = averager
            if zeroRedundancy {
                let shard = OptimizerShard(averager: averager, group: group, like: optimizer)
                if let saved = resumedState { try shard.restore(step: saved.step, first: saved.first, second: saved.second) }
                resumedState = nil
                optimizerShard = shard
            }
        }
        model.train()
        let start = Date(), startTokens = tokensSeen
        let perEpoch = max(train.count / options.gradientAccumulation, 1)
        var lastLoss: Float = .nan
        var epochBatches: [TokenBatch] = [], epochIndex = -1
        var stepSeconds: [Double] = []
        while step < min(totalSteps, stop ?? Int.max) {
            let stepStart = Date()
            let epoch = step / perEpoch
            if epoch != epochIndex { epochBatches = train.batches(epoch: epoch); epochIndex = epoch }
            let lr = learningRate(at: step + 1)
            optimizer.learningRate = lr
            // Every rank draws the masks one process would, each over its own rows of the batch.
            model.reseedDropout(options.seed &+ UInt64(step), firstRow: group.map { $0.rank * options.batchSize } ?? 0)
            optimizer.zeroGrad()
            var stepLoss: Float = 0
            for micro in 0..<options.gradientAccumulation {
                let global = epochBatches[(step % perEpoch) * options.gradientAccumulation + micro]
                let rows = group.map { global.share(part: $0.rank, of: $0.size) } ?? 0..<global.batchSize
                let draw = options.seed &* 0x9E37_79B9 &+ UInt64(step * options.gradientAccumulation + micro)
                let loss = objective.loss(global, draw: draw, rows: rows) / Float(options.gradientAccumulation)
                // The gradient of the whole batch's mean loss is the ranks' average, summed once per optimizer step:
                // during the last micro-step's backward pass.
                if let averager, overlapCommunication, micro == options.gradientAccumulation - 1 {
                    averager.begin()
                    loss.backward(leafDone: averager.leafDone)
                } else {
                    loss.backward()
                }
                stepLoss += loss.item()
                tokensSeen += global.inputs.count
            }
            var stopAsked = stopRequested()
            if let group, let averager {
                averager.finish()
                // The loss and whether any rank was asked to stop (Ctrl-C reaches the ranks at different steps;
                // they must stop at the same one), in one sum.
                var values = [Double(stepLoss), stopAsked ? 1 : 0]
                group.sum(&values)
                stepLoss = Float(values[0] / Double(group.size))
                stopAsked = values[1] > 0
            }
            guard stepLoss.isFinite else {
                throw DatasetError(description: "the loss became \(stepLoss) at step \(step + 1); lower the learning rate (--lr)")
            }
            if let optimizerShard {
                optimizerShard.update(learningRate: lr, clip: options.gradientClip)
            } else {
                if let clip = options.gradientClip { optimizer.clipGradients(maxNorm: clip) }
                optimizer.update()
            }
            stepSeconds.append(Date().timeIntervalSince(stepStart))
            step += 1
            lastLoss = stepLoss
            history.append([Float(tokensSeen), stepLoss])
            let seconds = Date().timeIntervalSince(start)
            onEvent(.step(step: step, totalSteps: totalSteps, loss: stepLoss, learningRate: lr,
                          tokensPerSecond: seconds > 0 ? Double(tokensSeen - startTokens) / seconds : 0))
            if step % options.evalEvery == 0 || step == totalSteps {
                if let group, !group.parametersAgree(model.parameters) {
                    throw DatasetError(description: "the processes' parameters differ at step \(step) (rank \(group.rank)); the run cannot go on")
                }
                let record = EvaluationRecord(step: step, tokensSeen: tokensSeen, trainLoss: trainingLoss(),
                                              validationLoss: validationLoss(), runningTrainLoss: stepLoss, sample: try sample())
                evaluations.append(record)
                onEvent(.evaluation(record))
            }
            let stopping = stopAsked && step < totalSteps
            if let save, stopping || step == totalSteps || saveEvery.map({ step % $0 == 0 }) == true {
                // Every process takes part; the first one, which writes, keeps the state.
                gatheredState = optimizerShard?.gatheredState(keep: group?.rank == 0)
                try save(self)
                gatheredState = nil
            }
            if stopping {
                stoppedEarly = true
                break
            }
        }
        let seconds = Date().timeIntervalSince(start)
        return TrainingSummary(steps: step, tokens: tokensSeen, trainLoss: lastLoss,
                               validationLoss: evaluations.last?.validationLoss, tokensPerSecond: seconds > 0 ? Double(tokensSeen - startTokens) / seconds : 0,
                               seconds: seconds, trainCurve: history, evaluations: evaluations,
                               medianStepSeconds: stepSeconds.isEmpty ? 0 : stepSeconds.sorted()[stepSeconds.count / 2])
    }

    /// The objective's demonstration on the sample prompt (a greedy continuation for a GPT), to watch the model learn.
    public func sample() throws -> String {
        guard (group?.rank ?? 0) == 0 else { return "" } // rank 0 writes the log
        defer { model.train() }
        return try objective.sample(prompt: options.samplePrompt, tokens: options.sampleTokens)
    }

    // MARK: Checkpoints

    /// Writes the model directory (config.json, model.safetensors) plus optimizer.safetensors and
    /// trainer_state.json, so that `resume` continues exactly. Each file is written atomically; the set is
    /// made atomic by RunCheckpoints, which gives this a fresh directory and renames it when complete.
    public func save(to directory: String) throws {
        try objective.save(to: directory, metadata: ["step": "\(step)"])
        let names = model.namedParameters.map(\.0)
        let state = gatheredState ?? optimizer.state
        var tensors: [(String, Tensor)] = []
        for (i, name) in names.enumerated() {
            let shape = model.parameters[i].shape
            tensors.append(("m." + name, Tensor(state.first[i], shape: shape)))
            tensors.append(("v." + name, Tensor(state.second[i], shape: shape)))
        }
        try Safetensors.write(tensors, metadata: ["step": "\(state.step)"], to: directory + "/optimizer.safetensors")
        let perEpoch = max(train.count / options.gradientAccumulation, 1)
        let saved = SavedState(step: step, tokensSeen: tokensSeen, options: options, history: history, evaluations: evaluations,
                               epoch: step / perEpoch, batchInEpoch: (step % perEpoch) * options.gradientAccumulation)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(saved).write(to: URL(fileURLWithPath: directory + "/trainer_state.json"), options: .atomic)
    }

    /// Restores the optimizer and progress saved by `save` (the model itself is loaded by the caller
    /// from the same directory).
    public func resume(from directory: String) throws {
        guard let data = FileManager.default.contents(atPath: directory + "/trainer_state.json"),
              let saved = try? JSONDecoder().decode(SavedState.self, from: data) else {
            throw DatasetError(description: "\(directory)/trainer_state.json is missing or unreadable: nothing to resume")
        }
        let file = try Safetensors.read(directory + "/optimizer.safetensors")
        var first: [[Float]] = [], second: [[Float]] = []
        for (name, _) in model.namedParameters {
            first.append(try file.tensor("m." + name).scalars)
            second.append(try file.tensor("v." + name).scalars)
        }
        let optimizerStep = Int(file.metadata["step"] ?? "") ?? saved.step
        if zeroRedundancy && group != nil {
            resumedState = (optimizerStep, first, second) // this process's share is taken when the shard is made
        } else {
            try optimizer.restore(step: optimizerStep, first: first, second: second)
        }
        step = saved.step
        tokensSeen = saved.tokensSeen
        history = saved.history
        evaluations = saved.evaluations
    }

    struct SavedState: Codable {
        let step: Int
        let tokensSeen: Int
        let options: TrainingOptions
        let history: [[Float]]
        let evaluations: [EvaluationRecord]
        /// Where the data order stands (the next batch): the shuffle is a function of the seed and the epoch,
        /// so this follows from `step`; written for people reading the file.
        var epoch: Int? = nil
        var batchInEpoch: Int? = nil
    }
}
