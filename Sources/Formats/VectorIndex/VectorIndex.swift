// A retrieval index on disk and in memory: text chunks, their sentence embeddings, and which embedder made them.
// One file, written atomically (a new file renamed over the old), read with its vectors memory-mapped:
//
//   offset 0    "LLMINDEX"                      8 bytes, the magic
//          8    version                         u32 little-endian: 1, or 2 when the index has an HNSW graph
//         12    dimension                       u32, the vectors' width
//         16    count                           u64, chunks = vectors
//         24    manifest length                 u64
//         32    manifest                        UTF-8 JSON: {"embedder": {name, path, dimension, pooling, normalize,
//                                               max_seq_length, fingerprint}, "settings": {chunk_tokens, overlap},
//                                               "chunks": [{id, source, start, end, text, metadata?}],
//                                               version 2: "hnsw": {m, ef_construction, entry, max_level}}
//               zero padding to a multiple of 64 bytes
//               vectors                         count × dimension float32 little-endian, each of unit length
//               graph (version 2)               the HNSW graph's levels and links (HNSWGraph.swift)
//               checksum                        u64, FNV-1a 64 of every byte before it
//
// A vector's score against a query is their dot product: both have unit length, so it is the cosine similarity.
// Opening checks the magic, the version, every length against the file's size, and the checksum, so a truncated
// or damaged file is refused with one line rather than read as garbage. Search is exact (every stored vector
// scored), or approximate through the HNSW graph when the index has one and the caller asks for it.

import Foundation
import Tensors

public struct IndexedChunk: @unchecked Sendable { // metadata holds JSON values only
    public let id: String
    /// The file (or record) the chunk comes from, and its UTF-8 byte range there.
    public let source: String
    public let start: Int, end: Int
    public let text: String
    /// A JSONL record's other fields.
    public let metadata: [String: Any]

    public init(id: String, source: String, start: Int, end: Int, text: String, metadata: [String: Any] = [:]) {
        (self.id, self.source, self.start, self.end, self.text, self.metadata) = (id, source, start, end, text, metadata)
    }

    var json: [String: Any] {
        var o: [String: Any] = ["id": id, "source": source, "start": start, "end": end, "text": text]
        if !metadata.isEmpty { o["metadata"] = metadata }
        return o
    }
}

public struct IndexError: Error, CustomStringConvertible {
    public let description: String
}

public final class VectorIndex: @unchecked Sendable { // read-only after opening, except `add`
    public static let magic = Array("LLMINDEX".utf8)
    /// The versions this reader reads; it writes 1 without a graph, so files without one stay readable by older llm.
    public static let versions: ClosedRange<UInt32> = 1...2

    /// The embedder's identity: {name, path, dimension, pooling, normalize, max_seq_length, fingerprint}.
    public let embedder: [String: Any]
    /// How the chunks were cut: {chunk_tokens, overlap}.
    public let settings: [String: Any]
    public let dimension: Int
    public private(set) var chunks: [IndexedChunk]
    /// count × dimension floats: a memory-mapped part of the file, or vectors added since.
    private var vectors: Data
    /// The approximate-search graph over every vector, when the index has one (kept up to date by `add`).
    public private(set) var graph: HNSWGraph?

    public var count: Int { chunks.count }

    /// An empty index for vectors of `dimension`.
    public init(embedder: [String: Any], settings: [String: Any], dimension: Int) {
        (self.embedder, self.settings, self.dimension) = (embedder, settings, dimension)
        (chunks, vectors) = ([], Data())
    }

    /// Adds chunks with their vectors (each `dimension` long; scaled here to unit length), linking them into the
    /// graph when there is one (`progress(nodes linked)` while it does).
    public func add(_ newChunks: [IndexedChunk], vectors newVectors: [[Float]], progress: (Int) -> Void = { _ in }) {
        precondition(newChunks.count == newVectors.count && newVectors.allSatisfy { $0.count == dimension }, "one vector of \(dimension) per chunk")
        var floats: [Float] = []
        floats.reserveCapacity(newVectors.count * dimension)
        for v in newVectors { floats += Self.unitLength(v) }
        var data = Data(vectors) // a copy: the mapped part is read-only
        floats.withUnsafeBytes { data.append(contentsOf: $0) }
        vectors = data
        chunks += newChunks
        if graph != nil { linkGraph(progress: progress) }
    }

    /// Builds the HNSW graph over every vector (replacing one there was): m links per node on the upper layers and
    /// 2m on layer 0, `efConstruction` candidates weighed per layer (hnswlib's defaults are 16 and 200).
    public func buildGraph(m: Int = 16, efConstruction: Int = 200, progress: (Int) -> Void = { _ in }) {
        precondition(m >= 2 && efConstruction >= 1, "m ≥ 2, efConstruction ≥ 1")
        graph = HNSWGraph(m: m, efConstruction: efConstruction)
        linkGraph(progress: progress)
    }

    private func linkGraph(progress: (Int) -> Void) {
        let (n, d) = (count, dimension)
        vectors.withUnsafeBytes { raw in
            graph!.extend(vectors: raw.bindMemory(to: Float.self).baseAddress!, total: n, dimension: d, progress: progress)
        }
    }

    /// The `topK` best chunks for each query through the HNSW graph, weighing `ef` candidates (at least topK; more
    /// finds more of the true best at the cost of speed). Exact search when the index has no graph.
    public func search(_ queries: [[Float]], topK: Int, ef: Int) -> [[(chunk: Int, score: Float)]] {
        guard let graph else { return search(queries, topK: topK) }
        precondition(queries.allSatisfy { $0.count == dimension }, "queries of \(dimension) values")
        let k = min(topK, count), d = dimension
        guard k > 0 else { return queries.map { _ in [] } }
        return vectors.withUnsafeBytes { raw in
            graph.search(vectors: raw.bindMemory(to: Float.self).baseAddress!, dimension: d, queries: queries.flatMap(Self.unitLength),
                         k: k, ef: max(ef, k))
        }
    }

    /// The `topK` best chunks for each query (a vector of `dimension`; scaled to unit length here), best first.
    /// Blocked as FAISS's flat index is: a tile of 2,048 stored vectors against up to 1,024 queries is one matrix
    /// product (the stored vectors pass through the kernel once per query block, rather than once per few queries),
    /// and each query keeps its best k while the tile is scanned, the queries split over the threads. (Tiles of 256
    /// to 2,048 queries and 1,024 to 16,384 vectors measured within 10 % of each other here.)
    public func search(_ queries: [[Float]], topK: Int) -> [[(chunk: Int, score: Float)]] {
        precondition(queries.allSatisfy { $0.count == dimension }, "queries of \(dimension) values")
        let n = count, d = dimension, k = min(topK, n)
        guard n > 0, k > 0 else { return queries.map { _ in [] } }
        let q = queries.flatMap(Self.unitLength)
        var best = [[(chunk: Int, score: Float)]](repeating: [], count: queries.count)
        var threshold = [Float](repeating: -.infinity, count: queries.count) // the k-th best score so far (once k are kept)
        let (queryBlock, storedBlock) = (1024, 2048)
        var tile = [Float](repeating: 0, count: queryBlock * storedBlock)
        vectors.withUnsafeBytes { raw in
            let stored = raw.bindMemory(to: Float.self).baseAddress!
            q.withUnsafeBufferPointer { qp in
                tile.withUnsafeMutableBufferPointer { tp in
                    let t = tp.baseAddress!
                    for q0 in stride(from: 0, to: queries.count, by: queryBlock) {
                        let qb = min(queryBlock, queries.count - q0)
                        for n0 in stride(from: 0, to: n, by: storedBlock) {
                            let nb = min(storedBlock, n - n0)
                            Kernels.sgemm(transB: true, m: nb, n: qb, k: d, a: stored + n0 * d, lda: d, b: qp.baseAddress! + q0 * d, ldb: d,
                                          c: t, ldc: qb)
                            // The scan, split by queries over the threads (each query's list is touched by one).
                            let groups = min(Threads.count, qb), per = (qb + groups - 1) / groups
                            best.withUnsafeMutableBufferPointer { lists in
                                threshold.withUnsafeMutableBufferPointer { kth in
                                    Threads.parallelFor(groups) { g in
                                        let columns = (g * per)..<min(qb, (g + 1) * per)
                                        for i in 0..<nb {
                                            let row = t + i * qb
                                            for j in columns where row[j] > kth[q0 + j] {
                                                Self.insert((n0 + i, row[j]), into: &lists[q0 + j], keeping: k)
                                                if lists[q0 + j].count == k { kth[q0 + j] = lists[q0 + j][k - 1].score }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return best
    }

    /// Puts a hit into a list kept sorted best first and at most k long (an equal score goes after the earlier chunk).
    static func insert(_ hit: (chunk: Int, score: Float), into list: inout [(chunk: Int, score: Float)], keeping k: Int) {
        var at = list.count
        while at > 0, hit.score > list[at - 1].score { at -= 1 }
        list.insert(hit, at: at)
        if list.count > k { list.removeLast() }
    }

    // MARK: The file

    /// Writes the index to `path` atomically.
    public func write(to path: String) throws {
        var manifest: [String: Any] = ["embedder": embedder, "settings": settings, "chunks": chunks.map(\.json)]
        if let graph { manifest["hnsw"] = graph.manifest }
        let json = try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys, .withoutEscapingSlashes])
        var file = Data(Self.magic)
        func append<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { file.append(contentsOf: $0) } }
        append(graph == nil ? UInt32(1) : 2)
        append(UInt32(dimension))
        append(UInt64(count))
        append(UInt64(json.count))
        file.append(json)
        file.append(Data(count: (64 - file.count % 64) % 64))
        file.append(vectors)
        if let graph { file.append(graph.bytes) }
        append(Self.checksum(file))
        do { try file.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw IndexError(description: "\(path): cannot write the index (\(error.localizedDescription))")
        }
    }

    /// Opens an index written by `write`, its vectors memory-mapped.
    public init(contentsOf path: String) throws {
        func fail(_ why: String) -> IndexError { IndexError(description: "\(path): \(why)") }
        guard let file = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { throw fail("cannot be read") }
        guard file.count >= 40, Array(file.prefix(8)) == Self.magic else { throw fail("not an index written by llm index build") }
        func integer<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            file.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        }
        let version = integer(8, UInt32.self)
        guard Self.versions.contains(version) else {
            throw fail("index format version \(version); this llm reads versions \(Self.versions.lowerBound)–\(Self.versions.upperBound)")
        }
        let (dimension, count, manifestLength) = (Int(integer(12, UInt32.self)), integer(16, UInt64.self), integer(24, UInt64.self))
        // Each length bounded by the file's size before any arithmetic on it, so no product can overflow.
        guard (1...(1 << 16)).contains(dimension), manifestLength <= UInt64(file.count), count <= UInt64(file.count / (4 * dimension)) else {
            throw fail("a damaged header (dimension \(dimension), \(count) vectors, a manifest of \(manifestLength) bytes in \(file.count))")
        }
        let vectorsStart = (32 + Int(manifestLength) + 63) / 64 * 64, vectorBytes = Int(count) * dimension * 4
        guard version == 2 ? file.count >= vectorsStart + vectorBytes + 8 : file.count == vectorsStart + vectorBytes + 8 else {
            throw fail("\(file.count) bytes where its header says \(vectorsStart + vectorBytes + 8)\(version == 2 ? " and a graph" : ""): truncated or damaged")
        }
        guard integer(file.count - 8, UInt64.self) == Self.checksum(file.prefix(file.count - 8)) else {
            throw fail("the checksum does not match: the file is damaged")
        }
        guard let manifest = try? JSONSerialization.jsonObject(with: file.subdata(in: 32..<(32 + Int(manifestLength)))) as? [String: Any],
              let embedder = manifest["embedder"] as? [String: Any], let settings = manifest["settings"] as? [String: Any],
              let chunkList = manifest["chunks"] as? [[String: Any]], chunkList.count == Int(count) else {
            throw fail("a damaged manifest")
        }
        if version == 2 {
            guard let hnsw = manifest["hnsw"] as? [String: Any] else { throw fail("a damaged manifest (version 2 without its graph)") }
            do {
                graph = try HNSWGraph(section: file[(vectorsStart + vectorBytes)..<(file.count - 8)], count: Int(count), manifest: hnsw)
            } catch let error as IndexError { throw fail(error.description) }
        }
        chunks = try chunkList.map { c in
            guard let id = c["id"] as? String, let source = c["source"] as? String, let start = c["start"] as? Int,
                  let end = c["end"] as? Int, let text = c["text"] as? String else { throw fail("a damaged chunk record") }
            return IndexedChunk(id: id, source: source, start: start, end: end, text: text, metadata: c["metadata"] as? [String: Any] ?? [:])
        }
        (self.embedder, self.settings, self.dimension) = (embedder, settings, dimension)
        vectors = file[vectorsStart..<(vectorsStart + vectorBytes)] // a slice: still the mapped pages, not a copy
    }

    /// The file's checksum: FNV-1a, 64 bits, of `data` (every byte before the checksum).
    public static func checksum(_ data: Data) -> UInt64 { fnv1a64(data) }

    /// v scaled to length 1 (a zero vector stays zero).
    static func unitLength(_ v: [Float]) -> [Float] {
        let norm = v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? v.map { $0 / norm } : v
    }
}

/// FNV-1a, 64 bits, continuing from `h` (so several pieces hash as one): the index's checksum and an embedder's
/// fingerprint.
func fnv1a64(_ data: Data, from h: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
    data.withUnsafeBytes { raw in
        var h = h
        for b in raw { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
