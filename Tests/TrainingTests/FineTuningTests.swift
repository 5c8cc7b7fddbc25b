// The fine-tuning loops on tiny models: a classifier learns an easy task and frozen weights stay
// put; early stopping puts back the best epoch; instruction fine-tuning lowers the loss, also with
// LoRA (where only the adapters move).

import Formats
import Foundation
import Models
import NN
import Tensors
import Testing
import Tokenizers
import Training

@Suite("Fine-tuning", .serialized)
struct FineTuningTests {
    let config = GPTConfig(vocabSize: 50257, contextLength: 32, embeddingSize: 32, layers: 2, heads: 2, dropout: 0)

    /// Texts about the weather are "a", texts about food are "b".
    func easyTask() throws -> ClassificationDataset {
        let a = ["rain today", "sunny and warm", "cold wind", "snow tonight", "cloudy sky", "storm coming", "hot weather", "fog this morning"]
        let b = ["pizza for lunch", "fresh bread", "apple pie", "rice and beans", "hot soup", "cheese sandwich", "pasta dinner", "fruit salad"]
        let examples = (a.map { ("a", $0) } + b.map { ("b", $0) }).enumerated().map { LabeledText(label: $1.0, text: $1.1, line: $0 + 1) }
        return try ClassificationDataset(examples, classes: ["a", "b"], encoding: Encoding.named("gpt2"), maxLength: 16, path: "easy")
    }

    @Test func classifierLearnsAndFrozenWeightsStay() throws {
        let data = try easyTask()
        let model = GPTClassifier(backbone: try GPTModel(config, seed: 1), labels: ["a", "b"], seed: 2)
        model.freezeAllBut(lastBlocks: 1)
        let frozen = model.backbone.blocks[0].gpt2FeedForward.expand.weight.scalars
        let embeddings = model.backbone.tokenEmbedding.weight.scalars
        let lastBlock = model.backbone.blocks[1].gpt2FeedForward.expand.weight.scalars
        var options = FineTuningOptions()
        options.epochs = 30
        options.batchSize = 4
        options.learningRate = 3e-3
        let trainer = try ClassifierTrainer(model: model, train: data, validation: nil, test: nil, options: options)
        let history = try trainer.run()
        #expect(history.count == 30)
        #expect(history.first!.trainLoss > history.last!.trainLoss)
        #expect(history.last!.trainAccuracy == 1)
        #expect(model.backbone.blocks[0].gpt2FeedForward.expand.weight.scalars == frozen)
        #expect(model.backbone.tokenEmbedding.weight.scalars == embeddings)
        #expect(model.backbone.blocks[1].gpt2FeedForward.expand.weight.scalars != lastBlock, "the last block trained")
    }

    /// With the embeddings and the first block frozen and no dropout, the trainer caches what leaves
    /// block 0 and runs only the top: the same losses and accuracies as running the whole network.
    @Test func frozenPrefixCacheChangesNothing() throws {
        let data = try easyTask()
        var histories: [[ClassificationMetrics]] = []
        for cached in [true, false] {
            let model = GPTClassifier(backbone: try GPTModel(config, seed: 1), labels: ["a", "b"], seed: 2)
            model.freezeAllBut(lastBlocks: 1)
            var options = FineTuningOptions()
            options.epochs = 3
            options.batchSize = 4
            options.learningRate = 3e-3
            let trainer = try ClassifierTrainer(model: model, train: data, validation: data, test: nil, options: options,
                                                cacheFrozenPrefix: cached)
            #expect(trainer.cachedBlocks == (cached ? 1 : 0))
            histories.append(try trainer.run())
        }
        for (a, b) in zip(histories[0], histories[1]) {
            #expect(abs(a.trainLoss - b.trainLoss) < 1e-4 && abs(a.validationLoss! - b.validationLoss!) < 1e-4)
            #expect(a.trainAccuracy == b.trainAccuracy)
        }
        // Dropout in the frozen blocks would make their output random: no cache then.
        var dropoutConfig = config
        dropoutConfig.dropout = 0.1
        let model = GPTClassifier(backbone: try GPTModel(dropoutConfig, seed: 1), labels: ["a", "b"], seed: 2)
        model.freezeAllBut(lastBlocks: 1)
        var options = FineTuningOptions()
        options.batchSize = 4
        #expect(try ClassifierTrainer(model: model, train: data, validation: nil, test: nil, options: options).cachedBlocks == 0)
    }

    @Test func earlyStoppingKeepsTheBestEpoch() throws {
        let data = try easyTask()
        // Validation labels opposite to training: the validation loss rises as training succeeds.
        let flipped = ClassificationDataset(ids: data.ids, labels: data.labels.map { 1 - $0 })
        let model = GPTClassifier(backbone: try GPTModel(config, seed: 1), labels: ["a", "b"], seed: 2)
        var options = FineTuningOptions()
        options.epochs = 20
        options.batchSize = 4
        options.learningRate = 3e-3
        options.patience = 2
        let trainer = try ClassifierTrainer(model: model, train: data, validation: flipped, test: nil, options: options)
        let history = try trainer.run()
        let best = history.min { $0.validationLoss! < $1.validationLoss! }!
        #expect(history.count < 20 && history.count == best.epoch + 2)
        #expect(trainer.bestEpoch == best.epoch)
        let (loss, _) = trainer.evaluate(flipped)
        #expect(abs(loss - best.validationLoss!) < 1e-5, "the best epoch's weights are back")
    }

    func instructionData() throws -> InstructionDataset {
        let examples = (0..<12).map { i in
            InstructionExample(instruction: "Repeat the number.", input: "\(i)", output: "The number is \(i).")
        }
        return InstructionDataset(examples, encoding: try Encoding.named("gpt2"))
    }

    @Test(arguments: [false, true])
    func instructionTuningLowersTheLoss(lora: Bool) throws {
        var c = config
        c.contextLength = 64
        // The book's initialisation (embeddings normal(0, 1)): with GPT-2's 0.02 and the final norm frozen,
        // a random model's logits are too small for adapters in the blocks alone to move far.
        c.initScheme = .pytorchDefault
        let model = try GPTModel(c, seed: 3)
        if lora {
            model.setTrainable(false)
            model.applyLoRA(rank: 4, alpha: 8, seed: 1)
        }
        let frozen = model.blocks[0].gpt2Attention.qkv.weight.scalars
        let data = try instructionData()
        var options = FineTuningOptions()
        options.epochs = 10
        options.batchSize = 4
        options.learningRate = lora ? 1e-2 : 3e-3
        let trainer = try InstructionTrainer(model: model, train: data, validation: data, options: options)
        trainer.maskPrompt = true
        trainer.evalEvery = 3
        let before = trainer.meanLoss(on: data)
        let evaluations = try trainer.run()
        #expect(evaluations.last!.step == 30)
        #expect(trainer.meanLoss(on: data) < before * 0.5, "loss \(before) → \(trainer.meanLoss(on: data))")
        #expect((model.blocks[0].gpt2Attention.qkv.weight.scalars == frozen) == lora)
    }

    /// A scratch directory for one test.
    func scratchDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "finetune-resume-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A classifier run stopped mid-epoch (Ctrl-C), saved and resumed in a new process's worth of objects ends
    /// exactly where the uninterrupted run ends: same metrics every epoch, same early stop, same weights.
    @Test func classifierResumesExactly() throws {
        let data = try easyTask()
        let flipped = ClassificationDataset(ids: data.ids, labels: data.labels.map { 1 - $0 })
        var options = FineTuningOptions()
        options.epochs = 12
        options.batchSize = 4
        options.learningRate = 3e-3
        options.patience = 3
        func trainer() throws -> ClassifierTrainer {
            let model = GPTClassifier(backbone: try GPTModel(config, seed: 1), labels: ["a", "b"], seed: 2)
            model.freezeAllBut(lastBlocks: 1)
            return try ClassifierTrainer(model: model, train: data, validation: flipped, test: data, options: options)
        }
        let whole = try trainer()
        let expected = try whole.run()
        #expect(expected.count < 12, "the run stops early (so the best weights are restored after resuming)")

        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try trainer()
        var steps = 0, saves = 0
        _ = try first.run(save: { t in saves += 1; try t.save(to: directory) }, stopRequested: { steps += 1; return steps == 6 })
        #expect(first.stoppedEarly && first.step == 6 && saves == 2, "saved after epoch 1 and at the stop")
        let second = try trainer()
        try second.resume(from: directory)
        let history = try second.run()
        #expect(history.map(\.trainLoss) == expected.map(\.trainLoss))
        #expect(history.map(\.validationLoss) == expected.map(\.validationLoss))
        #expect(history.map(\.testAccuracy) == expected.map(\.testAccuracy))
        #expect(second.bestEpoch == whole.bestEpoch)
        #expect(second.model.trainableParameters.map(\.scalars) == whole.model.trainableParameters.map(\.scalars))
    }

    /// The same for instruction fine-tuning with LoRA and dropout, stopped and resumed twice.
    @Test func instructionTuningResumesExactly() throws {
        var c = config
        c.contextLength = 64
        c.dropout = 0.1
        let data = try instructionData()
        var options = FineTuningOptions()
        options.epochs = 3
        options.batchSize = 4
        options.learningRate = 1e-2
        func trainer() throws -> InstructionTrainer {
            let model = try GPTModel(c, seed: 3)
            model.setTrainable(false)
            model.applyLoRA(rank: 4, alpha: 8, seed: 1)
            let t = try InstructionTrainer(model: model, train: data, validation: data, options: options)
            t.evalEvery = 2
            return t
        }
        let whole = try trainer()
        let expected = try whole.run()
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var current = try trainer()
        for stop in [2, 5] {
            var steps = 0
            _ = try current.run(save: { try $0.save(to: directory) }, stopRequested: { steps += 1; return current.step == stop })
            #expect(current.stoppedEarly && current.step == stop)
            current = try trainer()
            try current.resume(from: directory)
            #expect(current.step == stop)
        }
        let evaluations = try current.run()
        #expect(evaluations.map(\.trainLoss) == expected.map(\.trainLoss))
        #expect(evaluations.map(\.validationLoss) == expected.map(\.validationLoss))
        #expect(current.model.trainableParameters.map(\.scalars) == whole.model.trainableParameters.map(\.scalars))
    }

    /// A checkpoint of other trainable parameters (another LoRA rank) is refused with a sentence.
    @Test func resumingOtherParametersIsRefused() throws {
        let data = try instructionData()
        var options = FineTuningOptions()
        options.batchSize = 4
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func trainer(rank: Int) throws -> InstructionTrainer {
            let model = try GPTModel(config, seed: 3)
            model.setTrainable(false)
            model.applyLoRA(rank: rank, alpha: 8, seed: 1)
            return try InstructionTrainer(model: model, train: data, validation: nil, options: options)
        }
        try trainer(rank: 4).save(to: directory)
        #expect(throws: DatasetError.self) { try trainer(rank: 2).resume(from: directory) }
    }
}
