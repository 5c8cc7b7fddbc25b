// BERT pretraining in the shared trainer: the loss falls, a resumed run continues with exactly the losses of one that
// never stopped, masks change from step to step but not between evaluations, and a data-parallel process's rows get
// the masks one process would give them.

import Formats
import Foundation
import Models
import Tensors
import Testing
import Tokenizers
import Training

@Suite("Masked-LM pretraining", .serialized)
struct MaskedLMPretrainingTests {
    static let text: String = {
        let url = Bundle.module.url(forResource: "the-verdict", withExtension: "txt")!
        return try! String(contentsOf: url, encoding: .utf8)
    }()
    static let tokenizer = try! WordPieceTrainer.train(texts: [text], vocabularySize: 600)

    func makeTrainer(maxSteps: Int) throws -> Trainer {
        var config = BERTConfig(vocabSize: Self.tokenizer.vocabularySize, hiddenSize: 32, layers: 2, heads: 2, intermediateSize: 64, maxPositions: 64)
        config.hiddenDropout = 0.1
        let objective = try MaskedLMPretraining(model: BERTForMaskedLM(config, seed: 3), tokenizer: Self.tokenizer)
        var options = TrainingOptions()
        options.contextLength = 30
        options.batchSize = 4
        options.epochs = 100
        options.maxSteps = maxSteps
        options.learningRate = 3e-3
        options.warmupSteps = 2
        options.evalEvery = 5
        options.evalBatches = 2
        options.samplePrompt = "I had always thought Jack"
        let ids = Self.tokenizer.encode(Self.text), split = ids.count * 9 / 10
        return try Trainer(objective: objective, train: TokenStore(Array(ids[..<split])), validation: TokenStore(Array(ids[split...])),
                           options: options)
    }

    @Test("the loss falls; a resumed run equals an unbroken one; the saved directory reads back")
    func resumedRunEqualsUninterruptedRun() throws {
        let full = try makeTrainer(maxSteps: 12).run()
        #expect(full.evaluations.first!.validationLoss! > full.evaluations.last!.validationLoss!)
        #expect(full.evaluations.last!.sample.contains("[MASK] (Jack) →"))

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mlm-resume-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try makeTrainer(maxSteps: 12)
        _ = try first.run(until: 6)
        try first.save(to: dir)
        #expect(try WordPieceTokenizer.load(modelDirectory: dir)?.vocabulary == Self.tokenizer.vocabulary)
        let resumed = try makeTrainer(maxSteps: 12)
        try resumed.objective.restore(from: dir)
        try resumed.resume(from: dir)
        let rest = try resumed.run()
        let a = full.trainCurve.map { $0[1] }, b = rest.trainCurve.map { $0[1] }
        #expect(a.count == b.count)
        for (x, y) in zip(a, b) { #expect(abs(x - y) <= 1e-5 * max(1, abs(x)), "losses \(x) vs \(y)") }
    }

    @Test("masks: new at every draw, the same for the same draw, and a process's rows get one process's masks")
    func masksFollowTheDraw() throws {
        let objective = try #require(try makeTrainer(maxSteps: 1).objective as? MaskedLMPretraining)
        let ids = Self.tokenizer.encode(Self.text)
        let batch = TokenBatch(inputs: Array(ids[0..<(4 * 30)]), targets: Array(ids[1...(4 * 30)]), batchSize: 4, length: 30)
        let a = objective.maskedBatch(batch, draw: 7, firstRow: 0), again = objective.maskedBatch(batch, draw: 7, firstRow: 0)
        let other = objective.maskedBatch(batch, draw: 8, firstRow: 0)
        #expect(a.ids == again.ids)
        #expect(a.labels == again.labels)
        #expect(a.labels != other.labels)
        #expect(a.length == 32)
        #expect(a.ids[0] == Self.tokenizer.classifier && a.ids[31] == Self.tokenizer.separator)
        let upper = TokenBatch(inputs: Array(batch.inputs[60...]), targets: Array(batch.targets[60...]), batchSize: 2, length: 30)
        let part = objective.maskedBatch(upper, draw: 7, firstRow: 2)
        #expect(part.ids == Array(a.ids[64...]) && part.labels == Array(a.labels[64...]))
        let chosen = a.labels.filter { $0 != -100 }.count
        #expect(chosen > 4 && chosen < 40, "about 15 % of 120 tokens: \(chosen)")
    }
}
