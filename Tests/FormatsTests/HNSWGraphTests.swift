// The HNSW graph of a retrieval index: it finds nearly all of the exact top 10 on vectors with the structure of
// sentence embeddings, its scores are the exact cosines, the graph does not depend on the thread count, it survives
// the file and grows with `add`, and a damaged graph is refused before a search could leave its arrays.

import Foundation
import Formats
import Tensors
import Testing

@Suite("HNSW graph")
struct HNSWGraphTests {
    /// n vectors of d values with most of their energy in a random 8-dimensional subspace (as sentence embeddings
    /// have: a graph index is meant for such data; on isotropic random vectors every method degrades to a scan).
    static func structured(_ n: Int, _ d: Int, seed: UInt64) -> [[Float]] {
        var basisGenerator = SeededGenerator(seed: 1), g = SeededGenerator(seed: seed)
        let basis = (0..<8).map { _ in (0..<d).map { _ in Float.random(in: -1...1, using: &basisGenerator) } }
        return (0..<n).map { _ in
            let z = (0..<8).map { _ in Float.random(in: -1...1, using: &g) }
            return (0..<d).map { j in (0..<8).reduce(Float(0)) { $0 + z[$1] * basis[$1][j] } + 0.1 * Float.random(in: -1...1, using: &g) }
        }
    }

    static func index(_ vectors: [[Float]]) -> VectorIndex {
        let index = VectorIndex(embedder: ["name": "test", "fingerprint": "abc"], settings: [:], dimension: vectors[0].count)
        index.add(vectors.indices.map { IndexedChunk(id: "c\($0)", source: "s", start: 0, end: 0, text: "\($0)") }, vectors: vectors)
        return index
    }

    static func recall(_ found: [[(chunk: Int, score: Float)]], _ exact: [[(chunk: Int, score: Float)]]) -> Double {
        zip(found, exact).map { Double(Set($0.map(\.chunk)).intersection($1.map(\.chunk)).count) / Double($1.count) }.reduce(0, +)
            / Double(exact.count)
    }

    @Test("recall@10 against exact search, scores exact, on every instruction set this CPU has")
    func recall() {
        let saved = GEMMInstructionSet.current
        defer { GEMMInstructionSet.current = saved }
        let vectors = Self.structured(3000, 48, seed: 2), queries = Self.structured(200, 48, seed: 3)
        for isa in GEMMInstructionSet.allCases where isa.rawValue <= GEMMInstructionSet.best.rawValue {
            GEMMInstructionSet.current = isa
            let index = Self.index(vectors)
            let exact = index.search(queries, topK: 10)
            index.buildGraph(m: 8, efConstruction: 64)
            let (narrow, wide) = (Self.recall(index.search(queries, topK: 10, ef: 10), exact),
                                  Self.recall(index.search(queries, topK: 10, ef: 128), exact))
            #expect(wide >= 0.98 && wide >= narrow, "\(isa): recall@10 \(narrow) at ef 10, \(wide) at ef 128")
            let hits = index.search(queries, topK: 10, ef: 64)
            let truth = Dictionary(uniqueKeysWithValues: exact.enumerated().flatMap { q, list in list.map { ("\(q) \($0.chunk)", $0.score) } })
            for (q, list) in hits.enumerated() {
                #expect(list.count == 10 && zip(list, list.dropFirst()).allSatisfy { $0.score >= $1.score }, "best first")
                for hit in list { if let s = truth["\(q) \(hit.chunk)"] { #expect(abs(s - hit.score) < 1e-5) } }
            }
        }
    }

    @Test("the graph is the same on one thread and on several")
    func threadIndependent() throws {
        let saved = Threads.count
        defer { Threads.count = saved }
        let vectors = Self.structured(1500, 32, seed: 4)
        func bytes(threads: Int) throws -> Data {
            Threads.count = threads
            let index = Self.index(vectors)
            index.buildGraph(m: 6, efConstruction: 40)
            let p = NSTemporaryDirectory() + "hnsw-threads-\(getpid())-\(threads)"
            defer { unlink(p) }
            try index.write(to: p)
            return try Data(contentsOf: URL(fileURLWithPath: p))
        }
        #expect(try bytes(threads: 1) == bytes(threads: 3))
    }

    @Test("the graph survives the file, grows with add, and a small index finds everything")
    func fileAndAdd() throws {
        let p = NSTemporaryDirectory() + "hnsw-file-\(getpid())"
        defer { unlink(p) }
        let vectors = Self.structured(800, 32, seed: 5), more = Self.structured(200, 32, seed: 6)
        let index = Self.index(vectors)
        index.buildGraph(m: 8, efConstruction: 64)
        try index.write(to: p)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: p))
        #expect(bytes[8] == 2, "version 2 with a graph")
        let reopened = try VectorIndex(contentsOf: p)
        #expect(reopened.graph?.m == 8 && reopened.graph?.count == 800)
        let queries = Self.structured(50, 32, seed: 7)
        #expect(reopened.search(queries, topK: 5, ef: 40).map { $0.map(\.chunk) } == index.search(queries, topK: 5, ef: 40).map { $0.map(\.chunk) })
        reopened.add(more.indices.map { IndexedChunk(id: "m\($0)", source: "t", start: 0, end: 0, text: "") }, vectors: more)
        try reopened.write(to: p)
        let grown = try VectorIndex(contentsOf: p)
        #expect(grown.graph?.count == 1000)
        // Each new vector finds itself first.
        let found = grown.search(more, topK: 1, ef: 32).map { $0.first?.chunk }
        #expect(found.enumerated().filter { $0.element == 800 + $0.offset }.count >= 198)
        // ef above the count: everything is found, as exact search would.
        let small = Self.index(Array(vectors.prefix(40)))
        small.buildGraph(m: 4, efConstruction: 16)
        #expect(Self.recall(small.search(queries, topK: 10, ef: 40), small.search(queries, topK: 10)) == 1)
        // Without a graph, the ef search is exact search; an index without one stays version 1.
        let plain = Self.index(Array(vectors.prefix(30)))
        #expect(plain.search(queries, topK: 3, ef: 4).map { $0.map(\.chunk) } == plain.search(queries, topK: 3).map { $0.map(\.chunk) })
        try plain.write(to: p)
        #expect(try Data(contentsOf: URL(fileURLWithPath: p))[8] == 1)
    }

    @Test("a damaged graph is refused with one line")
    func damaged() throws {
        let p = NSTemporaryDirectory() + "hnsw-damaged-\(getpid())"
        defer { unlink(p) }
        let index = Self.index(Self.structured(100, 16, seed: 8))
        index.buildGraph(m: 4, efConstruction: 16)
        try index.write(to: p)
        let good = try Data(contentsOf: URL(fileURLWithPath: p))
        // Where the graph starts, by the documented layout: the vectors after the manifest, padded to 64 bytes.
        let manifestLength = good.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 24, as: UInt64.self))) }
        let graphStart = (32 + manifestLength + 63) / 64 * 64 + 100 * 16 * 4
        func refused(_ edit: (inout Data) -> Void) -> String? {
            var bytes = good
            edit(&bytes)
            bytes.replaceSubrange((bytes.count - 8)..<bytes.count, with: withUnsafeBytes(of: VectorIndex.checksum(bytes.prefix(bytes.count - 8)).littleEndian) { Data($0) })
            try? bytes.write(to: URL(fileURLWithPath: p))
            do { _ = try VectorIndex(contentsOf: p); return nil } catch { return "\(error)" }
        }
        #expect(refused { _ in } == nil)
        // Node 0's first layer-0 link pointed past the graph; node 0's count beyond its capacity; a level above the top.
        #expect(refused { $0.replaceSubrange((graphStart + 4 * 100 + 4)..<(graphStart + 4 * 100 + 8), with: Data([0xff, 0xff, 0, 0])) }?
            .contains("a link to no node") == true)
        #expect(refused { $0[graphStart + 4 * 100] = 9 }?.contains("longer than its capacity") == true)
        #expect(refused { $0[graphStart] = 31 }?.contains("damaged HNSW graph") == true)
        #expect(refused { $0.removeSubrange(graphStart..<(graphStart + 4)) }?.contains("damaged") == true)
    }
}
