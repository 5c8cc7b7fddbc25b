// `LLMBench retrieval`: search of a retrieval index (Formats/VectorIndex) — 1,000 queries, top 10, against 100,000
// stored unit vectors of 384 dimensions (bench/reference/prepare_retrieval.py writes them; the reference,
// bench_retrieval.py, searches the same vectors with FAISS and hnswlib):
//   exact search   every stored vector scored (FAISS IndexFlatIP's work);
//   HNSW           the graph built with m 16, ef_construction 200 (hnswlib's defaults), then searched at several
//                  ef, recall@10 against the exact top 10 (FAISS IndexHNSWFlat's and hnswlib's work).
// `LLMBench retrieval N [structured]` uses the first N stored vectors only, and the structured ones alone (a quicker look).

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
    let rows = args.first.flatMap(Int.init) ?? 100_000
    let (stored, queries) = (read("vectors.f32", rows: rows), read("queries.f32", rows: 1_000))
    let shape = "\(rows / 1000)k × 384, 1,000 queries, top 10"
    let index = VectorIndex(embedder: [:], settings: [:], dimension: 384)
    index.add(stored.indices.map { IndexedChunk(id: "\($0)", source: "", start: 0, end: 0, text: "") }, vectors: stored)
    let seconds = time(repeats: 5) { _ = index.search(queries, topK: 10) }
    let exact = index.search(queries, topK: 10).map { $0.map(\.chunk) }
    emit(["bench": "retrieval", "shape": shape, "variant": "exact search", "impl": "llm (Swift+C)",
          "threads": Threads.count, "seconds": seconds, "queries_per_s": 1_000 / seconds, "top10_first100": Array(exact.prefix(100))])

    if !args.contains("structured") { hnsw(index, queries: queries, exact: exact, data: "random") }
    // The same on vectors with the structure of sentence embeddings (prepare_retrieval.py says which).
    let structured = VectorIndex(embedder: [:], settings: [:], dimension: 384)
    let (storedS, queriesS) = (read("structured.f32", rows: rows), read("structured-queries.f32", rows: 1_000))
    structured.add(storedS.indices.map { IndexedChunk(id: "\($0)", source: "", start: 0, end: 0, text: "") }, vectors: storedS)
    hnsw(structured, queries: queriesS, exact: structured.search(queriesS, topK: 10).map { $0.map(\.chunk) }, data: "structured")

    func hnsw(_ index: VectorIndex, queries: [[Float]], exact: [[Int]], data: String) {
        let shape = "\(rows / 1000)k × 384 \(data), 1,000 queries, top 10"
        let start = Date()
        index.buildGraph(m: 16, efConstruction: 200)
        let build = Date().timeIntervalSince(start)
        emit(["bench": "retrieval", "shape": shape, "variant": "HNSW build (m 16, ef_construction 200)", "impl": "llm (Swift+C)",
              "threads": Threads.count, "seconds": build, "vectors_per_s": Double(rows) / build])
        for ef in [16, 32, 64, 128, 256] {
            let seconds = time(repeats: 5) { _ = index.search(queries, topK: 10, ef: ef) }
            let found = index.search(queries, topK: 10, ef: ef).map { $0.map(\.chunk) }
            let recall = zip(found, exact).map { Double(Set($0).intersection($1).count) / 10 }.reduce(0, +) / Double(queries.count)
            emit(["bench": "retrieval", "shape": shape, "variant": "HNSW search, ef \(ef)", "impl": "llm (Swift+C)",
                  "threads": Threads.count, "seconds": seconds, "queries_per_s": 1_000 / seconds, "quality": ["recall@10": recall]])
        }
    }
}
