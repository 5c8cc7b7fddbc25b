// Token files: written, memory-mapped back, read through the dataset; damaged files are refused.

import Foundation
import Testing
import Training

@Suite("Token files")
struct TokenFileTests {
    @Test func roundTripAndDataset() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("llm-\(UUID().uuidString).tokens").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let tokens = (0..<1000).map { ($0 * 7919) % 50257 }
        try TokenFile.write(tokens, encoding: "gpt2", to: path)
        let (store, name) = try TokenFile.open(path)
        #expect(name == "gpt2" && store.count == 1000)
        #expect(store.slice(0, 1000) == tokens)
        #expect(store.subrange(900..<1000).slice(0, 100) == Array(tokens[900...]))
        let mapped = try SlidingWindowDataset(store: store, maxLength: 8, stride: 8)
        let inMemory = try SlidingWindowDataset(tokens: tokens, maxLength: 8, stride: 8)
        #expect(mapped.count == inMemory.count && Array(mapped[5].target) == Array(inMemory[5].target))
        // Wide ids take 4 bytes each.
        try TokenFile.write([1, 70_000, 3], encoding: "o200k_base", to: path)
        #expect(try TokenFile.open(path).tokens.slice(0, 3) == [1, 70_000, 3])
    }

    @Test func damagedFilesAreRefused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("llm-\(UUID().uuidString).tokens").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try TokenFile.write(Array(0..<100), encoding: "gpt2", to: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(150).write(to: URL(fileURLWithPath: path))
        #expect(throws: DatasetError.self) { try TokenFile.open(path) }
        try Data("not a token file at all, really, no".utf8 + [UInt8](repeating: 0, count: 64)).write(to: URL(fileURLWithPath: path))
        #expect(throws: DatasetError.self) { try TokenFile.open(path) }
    }
}
