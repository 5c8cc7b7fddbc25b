// Byte-pair encoding of one piece, the pure algorithm (policy lives in `Encoding`):
//
//   start from single bytes; repeatedly merge the adjacent pair whose concatenation has the lowest
//   rank (the leftmost one on ties); stop when no adjacent pair is a token. The parts left are the
//   tokens.
//
// This is tiktoken's `_byte_pair_merge`. Short pieces (nearly all) scan an array for the minimum,
// as tiktoken does; long pieces (a run of 10,000 identical characters, minified code) use a heap
// so the cost grows as n log n instead of n^2. Both give the same merges (tested).

/// The token ranks of `piece`, which must be made of tokens (any byte is a token in a byte-level
/// encoding). `ranks` gives the rank of a byte string or `RankTable.missing`.
@inline(__always)
func bytePairMerge(_ piece: UnsafeBufferPointer<UInt8>, _ ranks: RankTable, into output: inout [Int]) {
    if piece.count <= 64 {
        bytePairMergeScan(piece, ranks, into: &output)
    } else {
        bytePairMergeHeap(piece, ranks, into: &output)
    }
}

/// Rank of piece[parts[i] ..< parts[i + 2]], the pair starting at part i (missing when there is none).
@inline(__always)
private func pairRank(_ piece: UnsafeBufferPointer<UInt8>, _ starts: UnsafeMutablePointer<Int>, _ count: Int,
                      _ i: Int, _ ranks: RankTable) -> UInt32 {
    guard i + 2 < count else { return RankTable.missing }
    let length = starts[i + 2] - starts[i]
    if length == 2 { return ranks.pairRank(piece[starts[i]], piece[starts[i] + 1]) }
    return ranks.rank(piece.baseAddress! + starts[i], length)
}

func bytePairMergeScan(_ piece: UnsafeBufferPointer<UInt8>, _ ranks: RankTable, into output: inout [Int]) {
    let n = piece.count
    // parts: start offsets of the current tokens plus the end offset; pairRanks[i]: rank of parts i and i+1 merged.
    withUnsafeTemporaryAllocation(of: Int.self, capacity: n + 1) { startsBuffer in
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: n + 1) { rankBuffer in
            let starts = startsBuffer.baseAddress!, pairRanks = rankBuffer.baseAddress!
            var count = n + 1
            for i in 0...n { starts[i] = i }
            for i in 0..<count { pairRanks[i] = pairRank(piece, starts, count, i, ranks) }
            while true {
                var best = RankTable.missing, at = -1
                for i in 0..<(count - 2) where pairRanks[i] < best {
                    best = pairRanks[i]
                    at = i
                }
                if at < 0 { break }
                // Merge part at+1 into part at: remove its start, then refresh the two pairs that changed.
                (starts + at + 1).update(from: starts + at + 2, count: count - at - 2)
                (pairRanks + at + 1).update(from: pairRanks + at + 2, count: count - at - 2)
                count -= 1
                pairRanks[at] = pairRank(piece, starts, count, at, ranks)
                if at > 0 { pairRanks[at - 1] = pairRank(piece, starts, count, at - 1, ranks) }
            }
            for i in 0..<(count - 1) {
                output.append(Int(ranks.rank(piece.baseAddress! + starts[i], starts[i + 1] - starts[i])))
            }
        }
    }
}

/// The same merges with a min-heap of (rank, start) and a doubly linked list of parts. Heap entries
/// go stale when a neighbour merges; a stale entry is recognised by its rank no longer matching.
func bytePairMergeHeap(_ piece: UnsafeBufferPointer<UInt8>, _ ranks: RankTable, into output: inout [Int]) {
    let n = piece.count
    var next = Array(1...n), previous = Array(-1..<(n - 1)) // parts are identified by their start offset
    var alive = [Bool](repeating: true, count: n)
    var pairRanks = [UInt32](repeating: RankTable.missing, count: n)
    func rankOfPair(_ a: Int) -> UInt32 {
        let b = next[a]
        guard b < n else { return RankTable.missing }
        return ranks.rank(piece.baseAddress! + a, next[b] - a)
    }
    // Lowest rank first; on equal ranks the leftmost pair, as the scan picks it.
    var heap = BinaryHeap<(UInt32, Int)> { x, y in x.0 != y.0 ? x.0 < y.0 : x.1 < y.1 }
    for a in 0..<n {
        pairRanks[a] = rankOfPair(a)
        if pairRanks[a] != RankTable.missing { heap.push((pairRanks[a], a)) }
    }
    while let (rank, a) = heap.pop() {
        guard alive[a], pairRanks[a] == rank, rank != RankTable.missing else { continue }
        let b = next[a]
        alive[b] = false
        next[a] = next[b]
        if next[b] < n { previous[next[b]] = a }
        pairRanks[a] = rankOfPair(a)
        if pairRanks[a] != RankTable.missing { heap.push((pairRanks[a], a)) }
        let p = previous[a]
        if p >= 0 {
            pairRanks[p] = rankOfPair(p)
            if pairRanks[p] != RankTable.missing { heap.push((pairRanks[p], p)) }
        }
    }
    var a = 0
    while a < n {
        output.append(Int(ranks.rank(piece.baseAddress! + a, next[a] - a)))
        a = next[a]
    }
}
