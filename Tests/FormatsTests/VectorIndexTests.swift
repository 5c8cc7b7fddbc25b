// The retrieval index file: a round trip keeps chunks, metadata and vectors; exact search equals a brute-force
// cosine ranking; adding keeps the old vectors; a truncated file, a flipped byte, another format or a newer version
// is refused with one line.

import Foundation
import Formats
import Tensors
import Testing

@Suite("Vector index")
struct VectorIndexTests {
    static func random(_ n: Int, _ d: Int, seed: UInt64) -> [[Float]] {
        var g = SeededGenerator(seed: seed)
        return (0..<n).map { _ in (0..<d).map { _ in Float.random(in: -1...1, using: &g) } }
    }

    static func make(_ n: Int, dimension d: Int = 24) -> VectorIndex {
        let index = VectorIndex(embedder: ["name": "test", "fingerprint": "abc"], settings: ["chunk_tokens": 8, "overlap": 2], dimension: d)
        index.add((0..<n).map { IndexedChunk(id: "c\($0)", source: "s.txt", start: $0, end: $0 + 3, text: "chunk \($0) 東京",
                                             metadata: $0 == 0 ? ["lang": "en", "n": 1] : [:]) },
                  vectors: random(n, d, seed: 3))
        return index
    }

    static func path(_ name: String) -> String {
        NSTemporaryDirectory() + "vector-index-test-\(getpid())-\(name)"
    }

    @Test("exact search is the cosine ranking, before and after a round trip through the file")
    func searchAndRoundTrip() throws {
        let index = Self.make(300), queries = Self.random(70, 24, seed: 9) // more than one block of 64 queries
        let p = Self.path("round"); defer { unlink(p) }
        try index.write(to: p)
        let reopened = try VectorIndex(contentsOf: p)
        #expect(reopened.count == 300 && reopened.dimension == 24 && reopened.embedder["fingerprint"] as? String == "abc")
        #expect(reopened.chunks[0].metadata["lang"] as? String == "en" && reopened.chunks[7].text == "chunk 7 東京")
        let stored = Self.random(300, 24, seed: 3)
        func cosine(_ a: [Float], _ b: [Float]) -> Float {
            zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } / (a.reduce(0) { $0 + $1 * $1 }.squareRoot() * b.reduce(0) { $0 + $1 * $1 }.squareRoot())
        }
        for (i, (before, after)) in zip(index.search(queries, topK: 10), reopened.search(queries, topK: 10)).enumerated() {
            let brute = stored.indices.map { ($0, cosine(queries[i], stored[$0])) }.sorted { $0.1 > $1.1 }.prefix(10)
            #expect(before.map(\.chunk) == brute.map(\.0) && after.map(\.chunk) == brute.map(\.0))
            #expect(zip(after, brute).allSatisfy { abs($0.score - $1.1) < 1e-5 })
        }
        #expect(reopened.search(queries, topK: 1000)[0].count == 300)
    }

    @Test("add keeps the old vectors and ranks the new ones")
    func add() throws {
        let p = Self.path("add"); defer { unlink(p) }
        try Self.make(5).write(to: p)
        let index = try VectorIndex(contentsOf: p)
        var query = [Float](repeating: 0, count: 24); query[3] = 1
        index.add([IndexedChunk(id: "new", source: "t.txt", start: 0, end: 1, text: "x")], vectors: [query.map { $0 * 7 }])
        try index.write(to: p)
        let again = try VectorIndex(contentsOf: p)
        #expect(again.count == 6 && again.chunks[5].id == "new")
        let best = again.search([query], topK: 1)[0][0]
        #expect(best.chunk == 5 && abs(best.score - 1) < 1e-6, "stored at unit length")
        #expect(again.search([query], topK: 6)[0].map(\.chunk).sorted() == Array(0..<6))
    }

    @Test("a truncated, damaged, foreign or newer file is refused with one line")
    func refusals() throws {
        let p = Self.path("bad"); defer { unlink(p) }
        try Self.make(4).write(to: p)
        let good = try Data(contentsOf: URL(fileURLWithPath: p))
        func refused(_ bytes: Data) -> String? {
            try? bytes.write(to: URL(fileURLWithPath: p))
            do { _ = try VectorIndex(contentsOf: p); return nil } catch { return "\(error)" }
        }
        #expect(refused(good.prefix(good.count - 5))?.contains("truncated or damaged") == true)
        var flipped = good
        flipped[good.count - 20] ^= 0x40
        #expect(refused(flipped)?.contains("checksum does not match") == true)
        #expect(refused(Data("PK\u{3}\u{4} not an index at all, but long enough to read a header".utf8))?.contains("not an index") == true)
        var newer = good
        newer[8] = 3
        #expect(refused(newer)?.contains("version 3") == true)
        #expect(refused(Data())?.contains("not an index") == true)
        #expect(refused(good) == nil)
    }
}
