// Classification fine-tuning (the book's chapter 6): cross-entropy on the class logits of each text,
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
import GPT
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
    public let model: GPTClassifier
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
    public init(model: GPTClassifier, train: ClassificationDataset, validation: ClassificationDataset?, test: ClassificationDataset?,
                options: FineTuningOptions, cacheFrozenPrefix: Bool = true) throws {
        optimizer = try options.optimizer(for: model, trainingExamples: train.count)
        self.model = model
        self.options = options
        self.train = train
        self.validation = validation?.count == 0 ? nil : validation
        self.test = test?.count == 0 ? nil : test
        let gpt = model.backbone
        let embeddingsFrozen = ([gpt.tokenEmbedding] + (gpt.positionEmbedding.map { [$0] } ?? [])).allSatisfy { $0.trainableParameters.isEmpty }
        let frozenBlocks = gpt.blocks.prefix { $0.trainableParameters.isEmpty }.count
        let floats = [train, validation, test].compactMap { $0 }.reduce(0) { $0 + $1.ids.reduce(0) { $0 + $1.count } } * gpt.config.embeddingSize
        cachedBlocks = cacheFrozenPrefix && embeddingsFrozen && gpt.config.dropout == 0 && floats <= 1 << 29 ? frozenBlocks : 0
    }

    /// The states entering block `cachedBlocks` for every example of `data`, computed in batches.
    func prefixStates(_ data: ClassificationDataset) -> [[Float]] {
        let c = model.backbone.config.embeddingSize
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var states = [[Float]](repeating: [], count: data.count)
        for b in data.batches(size: 16, byLength: true, padTokenId: model.padTokenId) {
            let x = Autograd.withNoGrad { model.backbone.hidden(b.ids, batch: b.batchSize, throughBlocks: cachedBlocks) }.scalars
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
        let states = cache[split]!, c = model.backbone.config.embeddingSize
        let x = Tensor.zeros([b.batchSize, b.length, c]) // padding positions stay zero: nothing before them reads them
        x.withUnsafeMutableBufferPointer { out in
            for (row, i) in b.indices.enumerated() {
                states[i].withUnsafeBufferPointer { _ = UnsafeMutableBufferPointer(rebasing: out[(row * b.length * c)...]).initialize(from: $0) }
            }
        }
        return model.logits(continuing: x, fromBlock: cachedBlocks, lengths: b.lengths)
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
                let loss = try options.step(model, optimizer, index: step) { logits(b, split: .train).crossEntropy(targets: b.labels) }
                step += 1
                seen += b.batchSize
                trainingSeconds += Date().timeIntervalSince(stepStart)
                onEvent(.step(step: step, totalSteps: totalSteps, loss: loss,
                              examplesPerSecond: Double(seen) / max(trainingSeconds, 1e-9)))
            }
            let (trainLoss, trainAccuracy) = evaluate(train, split: .train)
            let v = validation.map { evaluate($0, split: .validation) }, t = test.map { evaluate($0, split: .test) }
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
