// Cutting documents into the pieces a retrieval index stores: each chunk at most `maxTokens` tokens of the
// embedder's tokenizer, cut where the text itself breaks. Paragraphs (blank lines; in Markdown also headings) are
// kept whole when they fit; a longer paragraph is packed sentence by sentence; a sentence longer than a chunk is cut
// between words. Consecutive chunks of one paragraph may share `overlap` tokens of whole sentences, so a passage
// that straddles a cut is still found whole in one of them.
//
// Offsets are UTF-8 byte offsets into the source text, so a chunk can be shown in its place.

import Foundation

public struct TextChunk: Equatable, Sendable {
    public let text: String
    /// The chunk's UTF-8 byte range in the source.
    public let start: Int, end: Int
}

public struct TextChunker {
    public let maxTokens: Int, overlap: Int
    /// The number of tokens a piece of text is (without any special tokens the embedder adds).
    public let count: (String) -> Int

    public init(maxTokens: Int, overlap: Int = 0, count: @escaping (String) -> Int) {
        precondition(maxTokens >= 1 && overlap >= 0 && overlap < maxTokens, "chunks of at least 1 token, an overlap below that")
        (self.maxTokens, self.overlap, self.count) = (maxTokens, overlap, count)
    }

    /// The chunks of `text`, in order.
    public func chunks(_ text: String) -> [TextChunk] {
        let bytes = Array(text.utf8)
        return Self.paragraphs(bytes).flatMap { chunks(of: $0, in: bytes) }
    }

    /// One paragraph (a byte range) into chunks.
    func chunks(of paragraph: Range<Int>, in bytes: [UInt8]) -> [TextChunk] {
        func piece(_ r: Range<Int>) -> String { String(decoding: bytes[r], as: UTF8.self) }
        if count(piece(paragraph)) <= maxTokens { return [chunk(paragraph, bytes)] }
        // Units: sentences, and sentences too long for a chunk cut into runs of words that fit.
        var units: [(range: Range<Int>, tokens: Int)] = []
        for sentence in Self.sentences(paragraph, bytes) {
            let tokens = count(piece(sentence))
            if tokens <= maxTokens { units.append((sentence, tokens)); continue }
            var run: Range<Int>? = nil, runTokens = 0
            for word in Self.words(sentence, bytes) {
                let candidate = run.map { $0.lowerBound..<word.upperBound } ?? word, t = count(piece(candidate))
                if t <= maxTokens || run == nil {
                    (run, runTokens) = (candidate, t)
                } else {
                    units.append((run!, runTokens))
                    (run, runTokens) = (word, count(piece(word)))
                }
            }
            if let run { units.append((run, runTokens)) }
        }
        // Pack units greedily; the next chunk starts with the last units of this one that fit in `overlap`.
        var result: [TextChunk] = [], first = 0
        while first < units.count {
            var last = first
            while last + 1 < units.count, count(piece(units[first].range.lowerBound..<units[last + 1].range.upperBound)) <= maxTokens { last += 1 }
            result.append(chunk(units[first].range.lowerBound..<units[last].range.upperBound, bytes))
            guard last + 1 < units.count else { break }
            var next = last + 1, shared = 0
            while next - 1 > first, shared + units[next - 1].tokens <= overlap { next -= 1; shared += units[next].tokens }
            first = next
        }
        return result
    }

    func chunk(_ r: Range<Int>, _ bytes: [UInt8]) -> TextChunk {
        TextChunk(text: String(decoding: bytes[r], as: UTF8.self), start: r.lowerBound, end: r.upperBound)
    }

    /// Paragraphs: runs of non-blank lines; a Markdown heading line (starting with #) is a paragraph of its own.
    /// Each range is trimmed of surrounding whitespace.
    static func paragraphs(_ bytes: [UInt8]) -> [Range<Int>] {
        var result: [Range<Int>] = [], current: Range<Int>? = nil, lineStart = 0
        func flush() { if let c = current { result.append(c) }; current = nil }
        while lineStart < bytes.count {
            let lineEnd = bytes[lineStart...].firstIndex(of: 0x0A) ?? bytes.count
            let line = trimmed(lineStart..<lineEnd, bytes)
            if line.isEmpty { flush() } else if bytes[line.lowerBound] == UInt8(ascii: "#") {
                flush()
                result.append(line)
            } else {
                current = current.map { $0.lowerBound..<line.upperBound } ?? line
            }
            lineStart = lineEnd + 1
        }
        flush()
        return result
    }

    /// Sentences: cut after . ! ? (and their CJK forms 。！？) followed by whitespace or the end.
    static func sentences(_ r: Range<Int>, _ bytes: [UInt8]) -> [Range<Int>] {
        let text = String(decoding: bytes[r], as: UTF8.self)
        var result: [Range<Int>] = [], start = r.lowerBound, offset = r.lowerBound
        var previous: Character? = nil
        for ch in text {
            let width = ch.utf8.count
            if let p = previous, "。！？".contains(p) || (".!?".contains(p) && ch.isWhitespace) {
                let s = trimmed(start..<offset, bytes)
                if !s.isEmpty { result.append(s) }
                start = offset
            }
            previous = ch
            offset += width
        }
        let s = trimmed(start..<r.upperBound, bytes)
        if !s.isEmpty { result.append(s) }
        return result
    }

    /// Words: runs of bytes between ASCII whitespace.
    static func words(_ r: Range<Int>, _ bytes: [UInt8]) -> [Range<Int>] {
        var result: [Range<Int>] = [], start: Int? = nil
        for i in r {
            let space = bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D
            if space, let s = start { result.append(s..<i); start = nil } else if !space, start == nil { start = i }
        }
        if let s = start { result.append(s..<r.upperBound) }
        return result
    }

    static func trimmed(_ r: Range<Int>, _ bytes: [UInt8]) -> Range<Int> {
        var (lo, hi) = (r.lowerBound, r.upperBound)
        func space(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        while lo < hi, space(bytes[lo]) { lo += 1 }
        while hi > lo, space(bytes[hi - 1]) { hi -= 1 }
        return lo..<hi
    }
}
