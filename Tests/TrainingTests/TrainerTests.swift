// The trainer: losses fall, and a run resumed from a checkpoint continues with exactly the losses of
// a run that never stopped.

import Formats
import Foundation
import Inference
import Models
import NN
import Tensors
import Testing
import Tokenizers
import Training

@Suite("Trainer", .serialized)
struct TrainerTests {
    let ids: [Int] = {
        let url = Bundle.module.url(forResource: "the-verdict", withExtension: "txt")!
        return try! Encoding.named("gpt2").encodeOrdinary(String(contentsOf: url, encoding: .utf8))
    }()

    func makeTrainer(maxSteps: Int, group: DataParallelGroup? = nil, clip: Float? = nil) throws -> Trainer {
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
        options.gradientClip = clip // nil: also checks that a run without clipping saves and resumes
        let split = ids.count * 9 / 10
        return try Trainer(model: GPTModel(config, seed: 7), encoding: Encoding.named("gpt2"), train: TokenStore(Array(ids[..<split])),
                           validation: TokenStore(Array(ids[split...])), options: options, group: group)
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

    /// The book's chapter 5 split: The Verdict cut at int(0.9 · 20,479) = 18,431 characters, each part tokenized
    /// on its own. The counts and ids are tiktoken's (gpt2, from the same files; see the commit of this test).
    @Test func splittingByCharactersGivesTheBooksData() throws {
        let url = Bundle.module.url(forResource: "the-verdict", withExtension: "txt")!
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.unicodeScalars.count == 20_479)
        let (train, validation) = try splitCharacters(text, valFraction: 0.1, encoding: Encoding.named("gpt2"))
        #expect(train.count == 4612 && validation.count == 534)
        #expect(train.slice(0, 4) == [40, 367, 2885, 1464] && train.slice(4609, 3) == [705, 23873, 25011])
        #expect(validation.slice(0, 4) == [518, 6, 14707, 588] && validation.slice(531, 3) == [286, 1242, 526])
        // By tokens, the last 10 % of the whole text's tokens: one sequence cut in two.
        let byTokens = splitTokens(TokenStore(ids), valFraction: 0.1)
        #expect(byTokens.train.count + byTokens.validation.count == ids.count && byTokens.train.count == Int(Double(ids.count) * 0.9))
    }

    /// The training loss an evaluation reports is the book's: evaluation mode over the first `evalBatches`
    /// training batches (not the step's running loss, which the record keeps beside it).
    @Test func evaluationsMeasureTheTrainingLossInEvaluationMode() throws {
        let trainer = try makeTrainer(maxSteps: 5)
        let summary = try trainer.run()
        let record = try #require(summary.evaluations.last)
        #expect(record.step == 5)
        #expect(record.trainLoss == trainer.trainingLoss())
        #expect(record.runningTrainLoss == summary.trainCurve.last![1])
        #expect(record.trainLoss != record.runningTrainLoss, "dropout is on in the step, off in the evaluation")
    }

    @Test func learningRateWarmsUpThenDecays() throws {
        let t = try makeTrainer(maxSteps: 100)
        #expect(t.learningRate(at: 1) < t.learningRate(at: 2))
        #expect(abs(t.learningRate(at: 2) - 3e-3) < 1e-9)
        #expect(t.learningRate(at: 50) < 3e-3 && t.learningRate(at: 100) >= 3e-4 - 1e-9)
    }

    // Data-parallel processes take rows of one global batch (DataParallel.swift); with their first row given, their
    // dropout masks are the ones one process with the whole batch draws, so the N processes compute what it computes
    // (the fused attention kernel's weight dropout, GPT-2's embedding and residual dropout, the Llama family's).
    @Test(arguments: ["gpt2", "llama-tiny", "qwen3-tiny"])
    func dropoutMasksFollowTheRowsOfTheGlobalBatch(preset: String) throws {
        var config = preset == "gpt2" ? GPTConfig(contextLength: 16, embeddingSize: 32, layers: 2, heads: 2, dropout: 0.3)
                                      : try GPTConfig.preset(preset)
        config.dropout = 0.3
        let model = try GPTModel(config, seed: 5)
        model.train()
        var g = SeededGenerator(seed: 2)
        let (rows, t) = (6, 12)
        let ids = (0..<rows * t).map { _ in Int(g.next() % 50_000) }
        model.reseedDropout(77)
        let whole = Autograd.withNoGrad { model(ids, batch: rows) }.scalars
        let perRow = whole.count / rows
        for (first, count) in [(0, 2), (2, 2), (4, 2), (1, 4)] {
            model.reseedDropout(77, firstRow: first)
            let part = Autograd.withNoGrad { model(Array(ids[(first * t)..<((first + count) * t)]), batch: count) }
            let rowsOfWhole = whole[(first * perRow)..<((first + count) * perRow)]
            #expect(part.shape.reduce(1, *) == rowsOfWhole.count
                    && zip(part.scalars, rowsOfWhole).allSatisfy { abs($0 - $1) <= 1e-4 + 1e-4 * abs($1) },
                    "\(preset): rows \(first) ..< \(first + count)")
        }
        model.reseedDropout(77) // the same rows without their place in the batch: other masks
        let misplaced = Autograd.withNoGrad { model(Array(ids[(2 * t)..<(4 * t)]), batch: 2) }.scalars
        let place = Array(whole[(2 * perRow)..<(4 * perRow)])
        #expect(zip(misplaced, place).map { abs($0 - $1) }.max()! > 1e-2, "\(preset): dropout changes the output")
    }

    /// A group of one process, whose collectives are the identity: the data-parallel machinery (buckets summed from
    /// within the backward pass, ZeRO-1's optimizer shards, the state gathered for a checkpoint) must then give
    /// exactly what one process without it gives. Checks the plumbing without MPI (scripts/mpi_test.sh checks N > 1).
    final class SoleProcess: DataParallelGroup {
        final class Done: PendingSum {
            func test() -> Bool { true }
            func wait() {}
        }
        let rank = 0, size = 1
        func sum(_ values: UnsafeMutableBufferPointer<Float>) {}
        func sum(_ values: inout [Double]) {}
        func maximum(_ values: inout [Double]) {}
        func startReduceScatter(_ values: UnsafeMutableBufferPointer<Float>, into shard: UnsafeMutableBufferPointer<Float>) -> PendingSum {
            shard.baseAddress!.update(from: values.baseAddress!, count: shard.count)
            return Done()
        }
        func allGather(_ values: UnsafeMutableBufferPointer<Float>) {}
    }

    @Test(arguments: [false, true])
    func aGroupOfOneTrainsExactlyAsOneProcess(zero: Bool) throws {
        let alone = try makeTrainer(maxSteps: 6, clip: 1.0)
        let grouped = try makeTrainer(maxSteps: 6, group: SoleProcess(), clip: 1.0)
        grouped.bucketBytes = 16 << 10 // many buckets, started from within the backward pass
        grouped.zeroRedundancy = zero
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llm-group-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try alone.run(save: { try $0.save(to: dir + "/alone") })
        let b = try grouped.run(save: { try $0.save(to: dir + "/grouped") })
        #expect(a.trainCurve.map { $0[1] } == b.trainCurve.map { $0[1] }, "losses")
        for (p, q) in zip(alone.model.parameters, grouped.model.parameters) { #expect(p.scalars == q.scalars, "parameters") }
        let saved = try Safetensors.read(dir + "/alone/optimizer.safetensors"), gathered = try Safetensors.read(dir + "/grouped/optimizer.safetensors")
        for (name, _) in alone.model.namedParameters {
            for moment in ["m.", "v."] { #expect(try saved.tensor(moment + name).scalars == gathered.tensor(moment + name).scalars, "\(moment)\(name)") }
        }
    }
}
