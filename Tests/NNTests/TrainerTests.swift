// The trainer: losses fall, and a run resumed from a checkpoint continues with exactly the losses of
// a run that never stopped.

import Foundation
import GPT
import NN
import Testing
import Tensors
import Tokenizers
import Training

@Suite("Trainer", .serialized)
struct TrainerTests {
    let ids: [Int] = {
        let url = Bundle.module.url(forResource: "the-verdict", withExtension: "txt")!
        return try! Encoding.named("gpt2").encodeOrdinary(String(contentsOf: url, encoding: .utf8))
    }()

    func makeTrainer(maxSteps: Int) throws -> Trainer {
        let config = GPTConfig(contextLength: 32, embeddingSize: 32, layers: 2, heads: 2, dropout: 0.1)
        var options = TrainingOptions()
        options.contextLength = 32
        options.batchSize = 4
        options.epochs = 100
        options.maxSteps = maxSteps
        options.learningRate = 3e-3
        options.warmupSteps = 2
        options.evalEvery = 5
        options.evalBatches = 2
        options.sampleTokens = 3
        options.gradientClip = nil // also checks that a run without clipping saves and resumes
        let split = ids.count * 9 / 10
        return try Trainer(model: GPTModel(config, seed: 7), encoding: Encoding.named("gpt2"),
                           trainTokens: Array(ids[..<split]), validationTokens: Array(ids[split...]), options: options)
    }

    @Test func resumedRunEqualsUninterruptedRun() throws {
        let straight = try makeTrainer(maxSteps: 12)
        let full = try straight.run()
        #expect(full.trainCurve.first![1] > full.trainCurve.last![1], "the loss falls")

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llm-resume-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try makeTrainer(maxSteps: 12)
        _ = try first.run(until: 6) // pause half-way, save, and continue in a fresh trainer
        try first.save(to: dir)

        let resumed = try makeTrainer(maxSteps: 12)
        let saved = try Checkpoint.load(dir)
        for (dst, src) in zip(resumed.model.parameters, saved.parameters) {
            src.withUnsafeBufferPointer { s in dst.withUnsafeMutableBufferPointer { d in _ = d.initialize(from: s) } }
        }
        try resumed.resume(from: dir)
        #expect(resumed.step == 6)
        let rest = try resumed.run()
        let a = full.trainCurve.map { $0[1] }, b = rest.trainCurve.map { $0[1] }
        #expect(a.count == b.count)
        for (x, y) in zip(a, b) { #expect(abs(x - y) <= 1e-5 * max(1, abs(x)), "losses \(x) vs \(y)") }
    }

    @Test func learningRateWarmsUpThenDecays() throws {
        let t = try makeTrainer(maxSteps: 100)
        #expect(t.learningRate(at: 1) < t.learningRate(at: 2))
        #expect(abs(t.learningRate(at: 2) - 3e-3) < 1e-9)
        #expect(t.learningRate(at: 50) < 3e-3 && t.learningRate(at: 100) >= 3e-4 - 1e-9)
    }
}
