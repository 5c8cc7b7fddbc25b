// Classification fine-tuning (the book's chapter 6), of any SequenceClassifier (a GPT's or a BERT's): cross-entropy on the class logits of each text,
// AdamW on the trainable parameters only (frozen ones get no gradient and no optimizer state), loss
// and accuracy on every split after each epoch, and early stopping on the validation loss: when it
// has not improved for `patience` epochs training stops, and the weights of the best epoch are put back.
//
// Frozen-prefix cache: in the book's recipe only the last block, the final norm and the head train.
// When the embeddings and the first k blocks are frozen and there is no dropout, what leaves block k
// for a given text never changes, so it is computed once per example (one forward pass over the
// data) and every epoch and every evaluation runs only the trainable top of the network. The numbers
// are those of the full forward pass (causal attention: a text's states do not depend on the padding
// after it); only the float rounding of batched GEMMs may differ in the last bits.

import Foundation
import Models
import NN
import Tensors

public struct ClassificationMetrics: Codable, Sendable {
    public let epoch: Int
    public let examplesSeen: Int
    public let trainLoss: Float, trainAccuracy: Float
    public let validationLoss: Float?, validationAccuracy: Float?
    public let testLoss: Float?, testAccuracy: Float?
}

public final class ClassifierTrainer {
    public let model: any SequenceClassifier
    /// The model when it is a GPT classifier: the one family whose frozen prefix is cached.
    let gptClassifier: GPTClassifier?
    public let options: FineTuningOptions
    public let optimizer: AdamW
    let train: ClassificationDataset, validation: ClassificationDataset?, test: ClassificationDataset?
    /// Leading blocks whose output is cached (0: no cache).
    public let cachedBlocks: Int
    /// Per split, per example: the (length, C) states entering block `cachedBlocks`.
    var cache: [Split: [[Float]]] = [:]
    enum Split { case train, validation, test }
    public private(set) var history: [ClassificationMetrics] = []
    /// The epoch whose weights the model holds after `run` (the best by validation loss).
    public private(set) var bestEpoch: Int?

    /// `cacheFrozenPrefix: false` always runs the whole network (for comparing against the cache).
    public init(model: any SequenceClassifier, train: ClassificationDataset, validation: ClassificationDataset?, test: ClassificationDataset?,
                options: FineTuningOptions, cacheFrozenPrefix: Bool = true) throws {
        optimizer = try options.optimizer(for: model, trainingExamples: train.count)
        self.model = model
        self.options = options
        self.train = train
        self.validation = validation?.count == 0 ? nil : validation
        self.test = test?.count == 0 ? nil : test
        gptClassifier = model as? GPTClassifier
        if let gpt = gptClassifier?.backbone {
            let embeddingsFrozen = ([gpt.tokenEmbedding] + (gpt.positionEmbedding.map { [$0] } ?? [])).allSatisfy { $0.trainableParameters.isEmpty }
            let frozenBlocks = gpt.blocks.prefix { $0.trainableParameters.isEmpty }.count
            let floats = [train, validation, test].compactMap { $0 }.reduce(0) { $0 + $1.ids.reduce(0) { $0 + $1.count } } * gpt.config.embeddingSize
            cachedBlocks = cacheFrozenPrefix && embeddingsFrozen && gpt.config.dropout == 0 && floats <= 1 << 29 ? frozenBlocks : 0
        } else {
            cachedBlocks = 0
        }
    }

    /// The states entering block `cachedBlocks` for every example of `data`, computed in batches.
    func prefixStates(_ data: ClassificationDataset) -> [[Float]] {
        let gpt = gptClassifier!, c = gpt.backbone.config.embeddingSize
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var states = [[Float]](repeating: [], count: data.count)
        for b in data.batches(size: 16, byLength: true, padTokenId: model.padTokenId) {
            let x = Autograd.withNoGrad { gpt.backbone.hidden(b.ids, batch: b.batchSize, throughBlocks: cachedBlocks) }.scalars
            for (row, (i, length)) in zip(b.indices, b.lengths).enumerated() {
                states[i] = Array(x[(row * b.length * c)..<((row * b.length + length) * c)])
            }
        }
        return states
    }

    /// Class logits (B, K) of a batch: from the cached states when there are some, else from the ids.
    func logits(_ b: ClassificationBatch, split: Split) -> Tensor {
        guard cachedBlocks > 0 else { return model(b.ids, batch: b.batchSize, lengths: b.lengths) }
        if cache[split] == nil { cache[split] = prefixStates(split == .train ? train : split == .validation ? validation! : test!) }
        let gpt = gptClassifier!, states = cache[split]!, c = gpt.backbone.config.embeddingSize
        let x = Tensor.zeros([b.batchSize, b.length, c]) // padding positions stay zero: nothing before them reads them
        x.withUnsafeMutableBufferPointer { out in
            for (row, i) in b.indices.enumerated() {
                states[i].withUnsafeBufferPointer { _ = UnsafeMutableBufferPointer(rebasing: out[(row * b.length * c)...]).initialize(from: $0) }
            }
        }
        return gpt.logits(continuing: x, fromBlock: cachedBlocks, lengths: b.lengths)
    }

    public var stepsPerEpoch: Int { train.count / options.batchSize }

    /// Mean loss and accuracy over a whole split, in evaluation mode and without gradients.
    public func evaluate(_ data: ClassificationDataset) -> (loss: Float, accuracy: Float) { evaluate(data, split: nil) }

    func evaluate(_ data: ClassificationDataset, split: Split?) -> (loss: Float, accuracy: Float) {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var loss: Double = 0, correct = 0
        for b in data.batches(size: options.batchSize, byLength: true, padTokenId: model.padTokenId) {
            let logits = Autograd.withNoGrad {                                                     // (B, K)
                split.map { self.logits(b, split: $0) } ?? model(b.ids, batch: b.batchSize, lengths: b.lengths)
            }
            loss += Double(Autograd.withNoGrad { logits.crossEntropy(targets: b.labels) }.item()) * Double(b.batchSize)
            let k = model.labels.count, p = logits.scalars
            for (row, label) in b.labels.enumerated() {
                let scores = p[(row * k)..<((row + 1) * k)]
                if scores.indices.max(by: { scores[$0] < scores[$1] })! - row * k == label { correct += 1 }
            }
        }
        return (Float(loss / Double(data.count)), Float(correct) / Float(data.count))
    }

    // Progress, kept here so that a checkpoint can save it and `resume` put it back.
    public private(set) var step = 0
    var seen = 0, bestLoss = Float.infinity, sinceBest = 0
    /// A copy of the best epoch's trainable weights (the model goes on changing after it).
    var best: [[Float]]?
    /// Whether the last `run` ended because `stopRequested` said so (it can be resumed).
    public private(set) var stoppedEarly = false

    /// Trains for `options.epochs` epochs (fewer when stopping early) and returns the metrics of each.
    /// `save` is called after every epoch's evaluation, every `saveEvery` steps, and when `stopRequested`
    /// (checked after each step: Ctrl-C) ends the run early; a run resumed from what it saved continues exactly.
    public func run(saveEvery: Int? = nil, save: ((ClassifierTrainer) throws -> Void)? = nil, stopRequested: () -> Bool = { false },
                    onEvent: (FineTuningEvent) -> Void = { _ in }) throws -> [ClassificationMetrics] {
        let totalSteps = stepsPerEpoch * options.epochs
        var trainingSeconds = 0.0, stepsTimed = 0 // evaluations excluded from the examples/s figure
        stoppedEarly = false
        epochs: for epoch in stride(from: history.count + 1, through: options.epochs, by: 1) { // a resumed run: after the last evaluated
            model.train()
            let batches = train.batches(size: options.batchSize, shuffle: true, dropLast: true, seed: options.seed, epoch: epoch,
                                        padTokenId: model.padTokenId)
            for (i, b) in batches.enumerated() where (epoch - 1) * stepsPerEpoch + i >= step { // a resumed epoch skips what is done
                let stepStart = Date()
                let loss = try options.step(model, optimizer, index: step) { logits(b, split: .train).crossEntropy(targets: b.labels) }
                step += 1
                seen += b.batchSize
                stepsTimed += b.batchSize
                trainingSeconds += Date().timeIntervalSince(stepStart)
                onEvent(.step(step: step, totalSteps: totalSteps, loss: loss,
                              examplesPerSecond: Double(stepsTimed) / max(trainingSeconds, 1e-9)))
                let stopping = stopRequested() && step < totalSteps
                if stopping || (saveEvery.map { step % $0 == 0 } ?? false) && i + 1 < batches.count { try save?(self) }
                if stopping {
                    stoppedEarly = true
                    return history
                }
            }
            let (trainLoss, trainAccuracy) = evaluate(train, split: .train)
            let v = validation.map { evaluate($0, split: .validation) }, t = test.map { evaluate($0, split: .test) }
            let metrics = ClassificationMetrics(epoch: epoch, examplesSeen: seen, trainLoss: trainLoss, trainAccuracy: trainAccuracy,
                                                validationLoss: v?.loss, validationAccuracy: v?.accuracy,
                                                testLoss: t?.loss, testAccuracy: t?.accuracy)
            history.append(metrics)
            onEvent(.classificationEpoch(metrics))
            var stopEarly = false
            if let validationLoss = v?.loss {
                if validationLoss < bestLoss {
                    bestLoss = validationLoss
                    bestEpoch = epoch
                    sinceBest = 0
                    best = epoch < options.epochs ? model.trainableParameters.map(\.scalars) : nil // at the end: the model holds them
                } else {
                    sinceBest += 1
                    if let patience = options.patience, sinceBest >= patience, epoch < options.epochs {
                        onEvent(.stoppedEarly(epoch: epoch, bestEpoch: bestEpoch ?? epoch))
                        stopEarly = true
                    }
                }
            }
            if !stopEarly && epoch < options.epochs { try save?(self) }
            if stopEarly { break epochs }
        }
        if let best, bestEpoch != history.last?.epoch {
            for (p, values) in zip(model.trainableParameters, best) { p.withUnsafeMutableBufferPointer { _ = $0.initialize(from: values) } }
        }
        return history
    }
}

// MARK: Checkpoints

extension ClassifierTrainer {
    struct SavedState: Codable {
        let step: Int, examplesSeen: Int
        let history: [ClassificationMetrics]
        let bestEpoch: Int?
        let bestLoss: Float?, epochsWithoutImprovement: Int
    }

    /// Writes the trainable weights, the optimizer state and the progress into `directory` (see FineTuningCheckpoint).
    public func save(to directory: String) throws {
        try FineTuningCheckpoint.save(model: model, optimizer: optimizer, best: best,
                                      state: SavedState(step: step, examplesSeen: seen, history: history, bestEpoch: bestEpoch,
                                                        bestLoss: bestLoss.isFinite ? bestLoss : nil, epochsWithoutImprovement: sinceBest),
                                      to: directory)
    }

    /// Continues from what `save` wrote, on a model built as the saved run's was.
    public func resume(from directory: String) throws {
        let (saved, best) = try FineTuningCheckpoint.load(SavedState.self, model: model, optimizer: optimizer, from: directory)
        step = saved.step
        seen = saved.examplesSeen
        history = saved.history
        bestEpoch = saved.bestEpoch
        bestLoss = saved.bestLoss ?? .infinity
        sinceBest = saved.epochsWithoutImprovement
        self.best = best
    }
}
