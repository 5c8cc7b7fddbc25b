// Inputs that once crashed a reader under scripts/fuzz.sh, replayed through the same reader: each must
// now give an error (or a result), never a crash. Resources/fuzz/TARGET/ holds them, one file each,
// TARGET named as in fuzz/Sources/LLMFuzz/Targets.swift.

import Formats
import Foundation
import Inference
import Models
import Testing
import Tokenizers
import Training

@Suite("Fuzzing regressions")
struct FuzzRegressionTests {
    static let root = Bundle.module.url(forResource: "fuzz", withExtension: nil)!

    static var cases: [String] {
        let fm = FileManager.default
        return ((try? fm.contentsOfDirectory(atPath: root.path)) ?? []).sorted().flatMap { target in
            ((try? fm.contentsOfDirectory(atPath: root.appendingPathComponent(target).path)) ?? []).sorted().map { "\(target)/\($0)" }
        }
    }

    @Test func theCasesAreThere() { #expect(!Self.cases.isEmpty, "Resources/fuzz is missing from the test bundle") }

    @Test(arguments: cases)
    func readerRefusesTheInput(_ name: String) throws {
        let path = Self.root.appendingPathComponent(name).path
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        switch name.split(separator: "/")[0] {
        case "token-file":
            #expect(throws: DatasetError.self) { try TokenFile.open(path) }
        case "safetensors":
            if let file = try? Safetensors.parse(data, path: path) { for n in file.entries.keys { _ = try? file.tensor(n) } }
        case "gguf":
            _ = try? GGUF.parse(data, path: path)
            #expect(throws: GGUFError.self) { try InferenceModel.load(gguf: path) }
        case "tiktoken":
            _ = try? EncodingFiles.parseTiktoken([UInt8](data), path: path)
        case "config":
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llm-fuzz-config-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try data.write(to: URL(fileURLWithPath: dir + "/config.json"))
            #expect(throws: GPTError.self) { try Checkpoint.readConfig(dir) }
        case "csv":
            _ = try? LabeledTextFile.read(path)
        case "instructions":
            _ = try? InstructionFile.read(path)
        case "wordpiece-vocab":
            _ = try? WordPieceTokenizer(vocabTxt: path)
        case "wordpiece-json":
            _ = try? WordPieceTokenizer(tokenizerJSON: path)
        case "word2vec":
            #expect(throws: Word2VecError.self) { try Word2VecFormat.read([UInt8](data), name: path) }
        case "vector-index":
            #expect(throws: IndexError.self) { try VectorIndex(contentsOf: path) }
        case let other:
            Issue.record("no replay for target \(other): add one here")
        }
    }
}
