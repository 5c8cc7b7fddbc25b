// Training a byte-level BPE vocabulary, two ways that give the same merges:
//
// - `ReadableBPETrainer`: the algorithm as the book and tiktoken's `_educational.py` tell it. Count
//   every adjacent pair in every pre-token, merge the most frequent pair everywhere, repeat.
// - `BPETrainer`: the same result, fast. Pre-tokens are counted once (a word that occurs 1,000 times
//   is one entry with count 1,000); pair counts are kept up to date as merges happen, touching only
//   the words that contain the merged pair; the next pair comes from a max-heap (`learnMerges`, which
//   the WordPiece trainer shares).
//
// Both start from the 256 single bytes (ranks 0-255, rank = byte value) so every text stays
// encodable, pre-tokenize with the GPT-2 pattern, and break ties the same deterministic way: the
// higher count first, then the pair whose tokens have the smaller ids.

/// The result: token byte strings by rank (256 bytes, then one per merge), and the merges in order.
public struct TrainedVocabulary: Sendable {
    public let tokens: [[UInt8]]
    public let merges: [(Int, Int)]

    /// An encoding with these ranks (GPT-2 pre-tokenization), with special tokens numbered after them.
    public func encoding(name: String, specialTokens: [String] = []) -> Encoding {
        Encoding(name: name, preTokenizer: .r50k, tokens: tokens,
                 specialTokens: Dictionary(uniqueKeysWithValues: specialTokens.enumerated().map { ($1, tokens.count + $0) }))
    }
}

/// Pre-tokens of the training texts with their counts, as sequences of single-byte token ids.
struct WordCounts {
    var words: [[Int32]] = []
    var counts: [Int] = []

    init(texts: [String], preTokenizer: PreTokenizer) {
        var index: [[UInt8]: Int] = [:]
        for var text in texts {
            text.withUTF8 { bytes in
                preTokenizer.split(bytes) { a, b in
                    let piece = Array(bytes[a..<b])
                    if let i = index[piece] {
                        counts[i] += 1
                    } else {
                        index[piece] = words.count
                        words.append(piece.map { Int32($0) })
                        counts.append(1)
                    }
                }
            }
        }
    }
}

/// Replaces each non-overlapping occurrence (left to right) of the pair (a, b) in `word` with `merged`.
func merge(_ word: [Int32], _ a: Int32, _ b: Int32, into merged: Int32) -> [Int32] {
    var out: [Int32] = []
    out.reserveCapacity(word.count)
    var i = 0
    while i < word.count {
        if i + 1 < word.count, word[i] == a, word[i + 1] == b {
            out.append(merged)
            i += 2
        } else {
            out.append(word[i])
            i += 1
        }
    }
    return out
}

/// True when pair x should be merged before pair y of the same count.
@inline(__always)
func breaksTieBefore(_ x: (Int32, Int32), _ y: (Int32, Int32)) -> Bool { x.0 != y.0 ? x.0 < y.0 : x.1 < y.1 }

public enum ReadableBPETrainer {
    /// Learns `vocabularySize - 256` merges from `texts` (fewer if the texts run out of pairs).
    public static func train(texts: [String], vocabularySize: Int) -> TrainedVocabulary {
        var corpus = WordCounts(texts: texts, preTokenizer: .r50k)
        var tokens = (0..<256).map { [UInt8($0)] }
        var merges: [(Int, Int)] = []
        while tokens.count < vocabularySize {
            // Count every adjacent pair, weighted by how often its word occurs.
            var stats: [Int64: Int] = [:]
            for (word, count) in zip(corpus.words, corpus.counts) {
                for i in 0..<max(word.count - 1, 0) { stats[Int64(word[i]) << 32 | Int64(word[i + 1]), default: 0] += count }
            }
            // The most frequent pair (ties: the smaller token ids).
            guard let best = stats.max(by: { x, y in
                x.value != y.value ? x.value < y.value
                    : breaksTieBefore((Int32(y.key >> 32), Int32(truncatingIfNeeded: y.key)), (Int32(x.key >> 32), Int32(truncatingIfNeeded: x.key)))
            }) else { break }
            let (a, b) = (Int32(best.key >> 32), Int32(truncatingIfNeeded: best.key))
            let new = Int32(tokens.count)
            tokens.append(tokens[Int(a)] + tokens[Int(b)])
            merges.append((Int(a), Int(b)))
            corpus.words = corpus.words.map { merge($0, a, b, into: new) }
        }
        return TrainedVocabulary(tokens: tokens, merges: merges)
    }
}

public enum BPETrainer {
    /// Learns `vocabularySize - 256` merges from `texts`; `progress(done, total)` is called after each merge.
    public static func train(texts: [String], vocabularySize: Int,
                             progress: (Int, Int) -> Void = { _, _ in }) -> TrainedVocabulary {
        let corpus = WordCounts(texts: texts, preTokenizer: .r50k)
        var tokens = (0..<256).map { [UInt8($0)] }
        var merges: [(Int, Int)] = []
        let total = max(vocabularySize - 256, 0)
        guard tokens.count < vocabularySize else { return TrainedVocabulary(tokens: tokens, merges: merges) }
        learnMerges(words: corpus.words, counts: corpus.counts, firstNewSymbol: Int32(tokens.count)) { a, b in
            tokens.append(tokens[Int(a)] + tokens[Int(b)])
            merges.append((Int(a), Int(b)))
            progress(merges.count, total)
            return tokens.count < vocabularySize
        }
        return TrainedVocabulary(tokens: tokens, merges: merges)
    }
}

/// The fast merge loop, shared by the byte-level and the WordPiece trainers: words are sequences of symbol ids with
/// their counts; each step merges the most frequent adjacent pair (ties: the smaller ids) into the next new symbol
/// (`firstNewSymbol`, then one more per merge) and calls `merged(a, b)`, which says whether to go on. Pair counts
/// are kept up to date as merges happen, touching only the words that hold the merged pair; the next pair comes
/// from a max-heap. Ends early when no pair is left.
func learnMerges(words initial: [[Int32]], counts: [Int], firstNewSymbol: Int32, merged: (Int32, Int32) -> Bool) {
    var words = initial
    var pairCounts: [Int64: Int] = [:]
    var wordsWithPair: [Int64: [Int32]] = [:] // may list a word twice or after it lost the pair: checked on use
    func key(_ a: Int32, _ b: Int32) -> Int64 { Int64(a) << 32 | Int64(b) }
    for (w, word) in words.enumerated() where word.count > 1 {
        for i in 0..<(word.count - 1) {
            let k = key(word[i], word[i + 1])
            pairCounts[k, default: 0] += counts[w]
            wordsWithPair[k, default: []].append(Int32(w))
        }
    }
    // The highest count first; on equal counts the pair with the smaller token ids.
    var heap = BinaryHeap<(Int, Int64)> { x, y in
        x.0 != y.0 ? x.0 > y.0
            : breaksTieBefore((Int32(x.1 >> 32), Int32(truncatingIfNeeded: x.1)), (Int32(y.1 >> 32), Int32(truncatingIfNeeded: y.1)))
    }
    for (k, c) in pairCounts { heap.push((c, k)) }
    var new = firstNewSymbol
    while true {
        // Pop until an entry whose count is current; stale entries are re-queued with their real count.
        guard var (count, k) = heap.pop() else { return }
        while pairCounts[k, default: 0] != count {
            let actual = pairCounts[k, default: 0]
            if actual > 0 { heap.push((actual, k)) }
            guard let next = heap.pop() else { return }
            (count, k) = next
        }
        if count <= 0 { return }
        let (a, b) = (Int32(k >> 32), Int32(truncatingIfNeeded: k))
        var touched = Set<Int64>()
        var seen = Set<Int32>()
        for w in wordsWithPair.removeValue(forKey: k) ?? [] where seen.insert(w).inserted {
            let old = words[Int(w)], c = counts[Int(w)]
            let updated = merge(old, a, b, into: new)
            if updated.count == old.count { continue } // the word no longer holds the pair
            for i in 0..<(old.count - 1) {
                let p = key(old[i], old[i + 1])
                pairCounts[p, default: 0] -= c
                touched.insert(p)
            }
            for i in 0..<max(updated.count - 1, 0) {
                let p = key(updated[i], updated[i + 1])
                pairCounts[p, default: 0] += c
                touched.insert(p)
                if updated[i] == new || updated[i + 1] == new { wordsWithPair[p, default: []].append(w) }
            }
            words[Int(w)] = updated
        }
        pairCounts[k] = nil
        for p in touched where p != k {
            let c = pairCounts[p, default: 0]
            if c > 0 { heap.push((c, p)) } else { pairCounts[p] = nil }
        }
        guard merged(a, b) else { return }
        new += 1
    }
}
