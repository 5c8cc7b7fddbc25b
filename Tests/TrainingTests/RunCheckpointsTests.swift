// Checkpoints of a training run: whole sets or nothing, newest first, pruning, full-disk errors as
// sentences; and the memory check that refuses absurd configurations before allocating.

import Foundation
import Models
import Tensors
import Testing
import Training

@Suite("Run checkpoints and resource checks")
struct RunCheckpointsTests {
    func temporaryRun() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("llm-ckpt-\(UUID().uuidString)").path
    }

    @Test func newestIgnoresPartialSetsAndPruningKeepsK() throws {
        let run = temporaryRun()
        defer { try? FileManager.default.removeItem(atPath: run) }
        let checkpoints = RunCheckpoints(runDirectory: run)
        #expect(checkpoints.newest() == nil)
        for step in [5, 10, 15] {
            try checkpoints.save(step: step, keep: 2) { try Data("\(step)".utf8).write(to: URL(fileURLWithPath: $0 + "/state")) }
        }
        #expect(checkpoints.complete().map(\.step) == [10, 15])
        // A set being written when the process died is invisible and cleaned up by the next save.
        try FileManager.default.createDirectory(atPath: checkpoints.root + "/.partial-step-00000020", withIntermediateDirectories: true)
        #expect(checkpoints.newest()?.step == 15)
        try checkpoints.save(step: 20, keep: 2) { try Data("20".utf8).write(to: URL(fileURLWithPath: $0 + "/state")) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: checkpoints.root).sorted() == ["step-00000015", "step-00000020"])
        #expect(String(decoding: try Data(contentsOf: URL(fileURLWithPath: checkpoints.newest()!.path + "/state")), as: UTF8.self) == "20")
    }

    @Test func aFailedWriteLeavesThePreviousSetAndSaysWhy() throws {
        let run = temporaryRun()
        defer { try? FileManager.default.removeItem(atPath: run) }
        let checkpoints = RunCheckpoints(runDirectory: run)
        try checkpoints.save(step: 1, keep: 2) { try Data("1".utf8).write(to: URL(fileURLWithPath: $0 + "/state")) }
        do {
            try checkpoints.save(step: 2, keep: 2) { _ in throw CocoaError(.fileWriteOutOfSpace, userInfo: [NSFilePathErrorKey: "/x/model.safetensors"]) }
            Issue.record("the save should have failed")
        } catch {
            #expect("\(error)".hasSuffix("/x/model.safetensors: no space left on device; the previous checkpoint (step 1) is intact"))
        }
        #expect(checkpoints.complete().map(\.step) == [1])
        #expect(try FileManager.default.contentsOfDirectory(atPath: checkpoints.root) == ["step-00000001"])
    }

    @Test func fileProblemsAreSentences() {
        let posix = NSError(domain: NSCocoaErrorDomain, code: 512, userInfo: [NSFilePathErrorKey: "/etc/passwd/x",
                            NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: Int(ENOTDIR))])
        #expect(FileProblem.describe(posix) == "/etc/passwd/x: not a directory")
        #expect(FileProblem.describe(CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: "/a"])) == "/a: permission denied")
    }

    @Test(arguments: ["gpt2", "gpt2-medium", "small", "tiny"])
    func parameterCountFromTheConfigEqualsTheModel(_ preset: String) throws {
        for var config in [try GPTConfig.preset(preset), GPTConfig.book124M] {
            for (tied, bias) in [(true, true), (false, false)] {
                config.tieWordEmbeddings = tied
                config.qkvBias = bias
                config.contextLength = min(config.contextLength, 64)
                let model = try Initialization.withoutRandomValues { try GPTModel(config) }
                #expect(config.parameterCount == model.parameterCount, "\(preset) tied \(tied) bias \(bias)")
            }
        }
    }

    @Test func absurdSizesAreRefusedBeforeAllocating() throws {
        var config = try GPTConfig.preset("tiny")
        config.vocabSize = 1_000_000_000_000
        #expect(throws: GPTError.self) { try GPTModel(config) }
        do { _ = try GPTModel(config) } catch { #expect("\(error)".contains("more than this machine's")) }
        let fits = try GPTConfig.preset("tiny")
        #expect(throws: GPTError.self) { try MemoryCheck.training(fits, batchSize: 1_000_000, contextLength: 128) }
        try MemoryCheck.training(fits, batchSize: 8, contextLength: 128)
    }
}
