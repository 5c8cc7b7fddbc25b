// `LLMBench retrieval`: exact search of a retrieval index (Formats/VectorIndex) — 1,000 queries, top 10, against
// 100,000 stored unit vectors of 384 dimensions (bench/reference/prepare_retrieval.py writes them; the reference,
// bench_retrieval.py, searches the same vectors with FAISS IndexFlatIP).

import Foundation
import Formats
import Tensors

func benchRetrieval(_ args: [String]) {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".cache/retrieval").path
    func read(_ name: String, rows: Int) -> [[Float]] {
        let data = FileManager.default.contents(atPath: dir + "/" + name)!
        let floats = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return (0..<rows).map { Array(floats[($0 * 384)..<(($0 + 1) * 384)]) }
    }
    let (stored, queries) = (read("vectors.f32", rows: 100_000), read("queries.f32", rows: 1_000))
    let index = VectorIndex(embedder: [:], settings: [:], dimension: 384)
    index.add(stored.indices.map { IndexedChunk(id: "\($0)", source: "", start: 0, end: 0, text: "") }, vectors: stored)
    let seconds = time(repeats: 5) { _ = index.search(queries, topK: 10) }
    // The top result of the first queries, for the reference to compare with.
    let top = index.search(Array(queries.prefix(100)), topK: 10).map { $0.map(\.chunk) }
    emit(["bench": "retrieval", "shape": "100k × 384, 1,000 queries, top 10", "variant": "exact search", "impl": "llm (Swift+C)",
          "threads": Threads.count, "seconds": seconds, "queries_per_s": 1_000 / seconds, "top10_first100": top])
}
