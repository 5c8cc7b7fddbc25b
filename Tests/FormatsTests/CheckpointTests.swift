// Hugging Face model directories and safetensors files that are missing, truncated, mismatched or mutated:
// each is one error that names the file and what is wrong, never a trap.

import Foundation
import Formats
import Testing
import Tensors

@Suite("Checkpoint errors")
struct CheckpointErrorTests {
    func scratch() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llm-bad-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func copyFixture(to dir: String) throws {
        let src = fixtureDirectory("tiny-gpt2-untied")
        for f in ["config.json", "model.safetensors"] { try FileManager.default.copyItem(atPath: "\(src)/\(f)", toPath: "\(dir)/\(f)") }
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    @Test func missingAndInvalidFiles() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(message { _ = try Checkpoint.load(dir) }.contains("config.json"))
        try "{not json".write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        #expect(message { _ = try Checkpoint.load(dir) }.contains("not valid JSON"))
        try #"{"n_embd": 8, "n_layer": 1, "n_head": 2, "vocab_size": 10}"#.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        #expect(message { _ = try Checkpoint.load(dir) }.contains("n_positions"))
    }

    @Test func truncatedAndMismatchedWeights() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try copyFixture(to: dir)
        let weights = dir + "/model.safetensors"
        let full = try Data(contentsOf: URL(fileURLWithPath: weights))
        try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: weights))
        #expect(message { _ = try Checkpoint.load(dir) }.contains("outside"))
        try full.prefix(5).write(to: URL(fileURLWithPath: weights))
        #expect(message { _ = try Checkpoint.load(dir) }.contains("truncated"))
        // A config that does not match the tensors names the tensor and both shapes.
        try full.write(to: URL(fileURLWithPath: weights))
        var config = try String(contentsOfFile: dir + "/config.json", encoding: .utf8)
        config = config.replacingOccurrences(of: "\"n_embd\": 32", with: "\"n_embd\": 64")
        try config.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        let m = message { _ = try Checkpoint.load(dir) }
        #expect(m.contains("[1000, 32]") && m.contains("[1000, 64]"), "\(m)")
    }

    @Test func missingTensorsAreAllListed() throws {
        let t = Tensor.zeros([2, 2])
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try copyFixture(to: dir)
        try Safetensors.write([("transformer.wte.weight", Tensor.zeros([1000, 32])), ("extra", t)], to: dir + "/model.safetensors")
        let m = message { _ = try Checkpoint.load(dir) }
        #expect(m.contains("missing") && m.contains("wpe.weight") && m.contains("h.1.mlp.c_proj.bias") && m.contains("lm_head.weight"))
    }

    @Test func headerParserSurvivesMutation() throws {
        // Property test: random byte mutations of a valid file either parse or throw; nothing traps.
        let valid = try Safetensors.serialize([("a", Tensor.ones([3, 4])), ("b", Tensor.zeros([5]))], metadata: ["k": "v"])
        var g = SeededGenerator(seed: 11)
        var parsed = 0, rejected = 0
        for _ in 0..<3000 {
            var bytes = [UInt8](valid)
            for _ in 0..<(1 + Int(g.next() % 4)) {
                let i = Int(g.next() % UInt64(min(bytes.count, 120)))
                bytes[i] = UInt8(truncatingIfNeeded: g.next())
            }
            if g.next() % 5 == 0 { bytes.removeLast(Int(g.next() % UInt64(bytes.count))) }
            if (try? Safetensors.parse(Data(bytes), path: "fuzz")) != nil { parsed += 1 } else { rejected += 1 }
        }
        #expect(parsed + rejected == 3000 && rejected > 0)
        // Overlapping tensors and unknown dtypes are refused by name; a known non-float dtype (an integer buffer such
        // as BERT's position_ids) parses, and reading it as floats is refused by name.
        let overlap = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        var data = Data()
        withUnsafeBytes(of: UInt64(overlap.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(overlap.utf8) + [UInt8](repeating: 0, count: 12))
        #expect(message { _ = try Safetensors.parse(data, path: "x") }.contains("overlap"))
        let f64 = #"{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#
        var data2 = Data()
        withUnsafeBytes(of: UInt64(f64.utf8.count).littleEndian) { data2.append(contentsOf: $0) }
        data2.append(contentsOf: Array(f64.utf8) + [UInt8](repeating: 0, count: 8))
        let file = try Safetensors.parse(data2, path: "x")
        #expect(message { _ = try file.tensor("a") } == "x: tensor a is F64, not one of the float types read here (F32, F16, BF16)")
        let unknown = #"{"a":{"dtype":"Q9","shape":[1],"data_offsets":[0,8]}}"#
        var data3 = Data()
        withUnsafeBytes(of: UInt64(unknown.utf8.count).littleEndian) { data3.append(contentsOf: $0) }
        data3.append(contentsOf: Array(unknown.utf8) + [UInt8](repeating: 0, count: 8))
        #expect(message { _ = try Safetensors.parse(data3, path: "x") }.contains("Q9"))
    }
}
