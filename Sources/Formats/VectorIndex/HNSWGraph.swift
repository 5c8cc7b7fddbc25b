// The HNSW graph of a retrieval index (`llm index build --hnsw`): approximate nearest-neighbour search that visits a
// few thousand of the stored vectors instead of all of them. The algorithm is in C (CKernels/hnsw.c); this file owns
// its arrays, draws each node's level, and reads and writes the graph's section of the index file:
//
//   levels        count × i32                       each node's top layer
//   layer 0       count × (1 + 2m) u32              a count, then up to 2m neighbour ids
//   upper layers  Σ levels × (1 + m) u32            node by node, layers 1…level, a count then up to m ids
//
// all little-endian. Reading checks every count and id (and that a neighbour on layer l has a layer l), so a damaged
// graph is refused instead of sending the search outside its arrays.

import CKernels
import Foundation

public struct HNSWGraph: Sendable {
    /// Links per node on the upper layers (2m on layer 0), and candidates weighed per layer when linking a node.
    public let m: Int, efConstruction: Int
    public private(set) var entry = 0, maxLevel = 0
    private(set) var levels: [Int32] = []
    private(set) var links0: [UInt32] = []
    private(set) var upper: [UInt32] = []
    private var upperOffset: [Int64] = []

    public var count: Int { levels.count }

    public init(m: Int, efConstruction: Int) { (self.m, self.efConstruction) = (m, efConstruction) }

    /// Node `node`'s top layer: geometric, P(level ≥ l) = m^-l (the paper's m_L = 1/ln m), from a hash of the node's
    /// position so the same vectors always give the same graph.
    static func level(of node: Int, m: Int) -> Int32 {
        var z = UInt64(node) &+ 0x9e37_79b9_7f4a_7c15 // splitmix64
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        z ^= z >> 31
        let u = (Double(z >> 11) + 1) / 9_007_199_254_740_992 // in (0, 1]
        return Int32(min(30, Int(-Foundation.log(u) / Foundation.log(Double(m)))))
    }

    /// Links nodes count..<vectors (the index's vectors, `dimension` wide, unit length) into the graph.
    mutating func extend(vectors: UnsafePointer<Float>, total: Int, dimension: Int, progress: (Int) -> Void) {
        let first = count
        guard total > first else { return }
        for node in first..<total {
            let level = Self.level(of: node, m: m)
            upperOffset.append(Int64(upper.count))
            levels.append(level)
            upper += [UInt32](repeating: 0, count: Int(level) * (1 + m))
        }
        links0 += [UInt32](repeating: 0, count: (total - first) * (1 + 2 * m))
        let ef = Int32(efConstruction)
        withoutActuallyEscaping(progress) { progress in
            var report = progress // C calls back through a pointer to it
            withGraph(vectors: vectors, dimension: dimension) { g in
                withUnsafeMutablePointer(to: &report) { context in
                    llm_hnsw_insert(g, first, ef, { context, done in
                        context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(done)
                    }, context)
                }
            }
        }
    }

    /// The `k` best nodes of each query (rows of `dimension`), best first, weighing `ef` candidates on layer 0.
    func search(vectors: UnsafePointer<Float>, dimension: Int, queries: [Float], k: Int, ef: Int) -> [[(chunk: Int, score: Float)]] {
        let n = queries.count / dimension
        var ids = [Int64](repeating: -1, count: n * k), scores = [Float](repeating: 0, count: n * k)
        // The C search only reads the links: pointers to these arrays as they are (a mutable copy of the struct would
        // copy every link list on each search).
        levels.withUnsafeBufferPointer { lv in
            upperOffset.withUnsafeBufferPointer { off in
                links0.withUnsafeBufferPointer { l0 in
                    upper.withUnsafeBufferPointer { up in
                        var g = llm_hnsw(vectors: vectors, count: count, dim: dimension, m: Int32(m), max_level: Int32(maxLevel), entry: entry,
                                         levels: lv.baseAddress, links0: UnsafeMutablePointer(mutating: l0.baseAddress),
                                         upper: UnsafeMutablePointer(mutating: up.baseAddress), upper_offset: off.baseAddress)
                        llm_hnsw_search(&g, queries, n, k, ef, &ids, &scores)
                    }
                }
            }
        }
        return (0..<n).map { q in (0..<k).compactMap { j in ids[q * k + j] < 0 ? nil : (Int(ids[q * k + j]), scores[q * k + j]) } }
    }

    private mutating func withGraph<R>(vectors: UnsafePointer<Float>, dimension: Int, _ body: (UnsafeMutablePointer<llm_hnsw>) -> R) -> R {
        let (count, m, entry, maxLevel) = (self.count, self.m, self.entry, self.maxLevel)
        var g = llm_hnsw()
        let result = levels.withUnsafeBufferPointer { lv in
            upperOffset.withUnsafeBufferPointer { off in
                links0.withUnsafeMutableBufferPointer { l0 in
                    upper.withUnsafeMutableBufferPointer { up in
                        g = llm_hnsw(vectors: vectors, count: count, dim: dimension, m: Int32(m), max_level: Int32(maxLevel), entry: entry,
                                     levels: lv.baseAddress, links0: l0.baseAddress, upper: up.baseAddress, upper_offset: off.baseAddress)
                        return body(&g)
                    }
                }
            }
        }
        (self.entry, self.maxLevel) = (g.entry, Int(g.max_level))
        return result
    }

    // MARK: The file's graph section

    /// What the manifest records about the graph.
    var manifest: [String: Any] { ["m": m, "ef_construction": efConstruction, "entry": entry, "max_level": maxLevel] }

    var bytes: Data {
        var data = Data(capacity: 4 * (levels.count + links0.count + upper.count))
        for array in [levels.map { UInt32(bitPattern: $0) }, links0, upper] {
            array.withUnsafeBytes { data.append(contentsOf: $0) } // little-endian on every platform Swift runs on here
        }
        return data
    }

    /// Bytes of the graph section for `count` nodes with the levels at the start of `section`, or nil when they are
    /// out of range.
    static func sectionSize(_ section: Data, count: Int, m: Int, maxLevel: Int) -> Int? {
        guard section.count >= 4 * count else { return nil }
        var sum = 0
        for i in 0..<count {
            let level = Self.integer(section, 4 * i)
            guard level <= UInt32(maxLevel) else { return nil }
            sum += Int(level)
        }
        return 4 * (count + count * (1 + 2 * m) + sum * (1 + m))
    }

    /// The graph in `section` (exactly `sectionSize` bytes), checked link by link.
    init(section: Data, count: Int, manifest: [String: Any]) throws {
        guard let m = manifest["m"] as? Int, (2...256).contains(m), let ef = manifest["ef_construction"] as? Int, ef >= 1,
              let entry = manifest["entry"] as? Int, let maxLevel = manifest["max_level"] as? Int, (0...30).contains(maxLevel),
              count == 0 || (0..<count).contains(entry),
              let size = Self.sectionSize(section, count: count, m: m, maxLevel: maxLevel), size == section.count else {
            throw IndexError(description: "a damaged HNSW graph header")
        }
        self.init(m: m, efConstruction: ef)
        (self.entry, self.maxLevel) = (entry, maxLevel)
        var words = [UInt32](repeating: 0, count: section.count / 4)
        _ = words.withUnsafeMutableBytes { section.copyBytes(to: $0) }
        levels = words[0..<count].map { Int32(bitPattern: $0) }
        links0 = Array(words[count..<(count + count * (1 + 2 * m))])
        upper = Array(words[(count + count * (1 + 2 * m))...])
        var offset: Int64 = 0
        upperOffset = levels.map { level in defer { offset += Int64(level) * Int64(1 + m) }; return offset }
        guard count == 0 || levels[entry] == maxLevel else { throw IndexError(description: "a damaged HNSW graph: its entry is not on its top layer") }
        func check(_ list: ArraySlice<UInt32>, layer: Int, capacity: Int) throws {
            guard list[list.startIndex] <= UInt32(capacity) else { throw IndexError(description: "a damaged HNSW graph: a list longer than its capacity") }
            for id in list.dropFirst().prefix(Int(list[list.startIndex])) where id >= UInt32(count) || levels[Int(id)] < layer {
                throw IndexError(description: "a damaged HNSW graph: a link to no node of that layer")
            }
        }
        for node in 0..<count {
            let l0 = node * (1 + 2 * m)
            try check(links0[l0..<(l0 + 1 + 2 * m)], layer: 0, capacity: 2 * m)
            for layer in stride(from: 1, through: Int(levels[node]), by: 1) {
                let at = Int(upperOffset[node]) + (layer - 1) * (1 + m)
                try check(upper[at..<(at + 1 + m)], layer: layer, capacity: m)
            }
        }
    }

    private static func integer(_ data: Data, _ offset: Int) -> UInt32 {
        data.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }
}
