// word2vec's input as gensim's `LineSentence` reads it: one sentence a line, words separated by whitespace
// (Python's `str.split()`: ASCII whitespace, the separators 0x1C–0x1F, and Unicode's spaces and line
// separators), a line longer than 10,000 words cut into sentences of 10,000. The words are kept as ids of
// first appearance, so the corpus is read and hashed once and every epoch reuses it.

import Foundation

public struct Word2VecError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}

public struct LineSentences: Sendable {
    /// Longest sentence; longer lines are cut (gensim's `max_sentence_length`, and its limit per job).
    public static let maxSentenceLength = 10_000

    /// Every distinct word, in order of first appearance, and how often it occurs.
    public private(set) var words: [String] = []
    public private(set) var counts: [Int] = []
    /// The corpus as ids into `words`, sentence after sentence; `ends[s]` is one past sentence s's last word.
    public private(set) var ids: [Int32] = []
    public private(set) var ends: [Int] = []
    private var lookup: [String: Int32] = [:]

    public init() {}

    /// Reads `text` (UTF-8 bytes); `name` names it in errors.
    public mutating func add(_ text: [UInt8], name: String) throws {
        try text.withUnsafeBufferPointer { bytes in
            var line = 1, start = 0
            while start < bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != 0x0A { end += 1 }
                try addLine(UnsafeBufferPointer(rebasing: bytes[start..<end]), name: name, line: line)
                start = end + 1
                line += 1
            }
        }
    }

    /// Reads a text file.
    public mutating func add(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Word2VecError("\(path): cannot read the file (does it exist?)")
        }
        try add([UInt8](data), name: path)
    }

    private mutating func addLine(_ line: UnsafeBufferPointer<UInt8>, name: String, line number: Int) throws {
        var ascii = true
        for b in line where b >= 0x80 { ascii = false; break }
        if !ascii, String(validating: line, as: UTF8.self) == nil {
            throw Word2VecError("\(name):\(number): the text is not UTF-8")
        }
        var i = 0, inSentence = 0
        while i < line.count {
            let space = Self.whitespaceLength(line, i)
            if space > 0 { i += space; continue }
            var j = i
            while j < line.count && Self.whitespaceLength(line, j) == 0 { j += 1 }
            let word = String(decoding: UnsafeBufferPointer(rebasing: line[i..<j]), as: UTF8.self)
            let id: Int32
            if let known = lookup[word] {
                id = known
                counts[Int(id)] += 1
            } else {
                id = Int32(words.count)
                lookup[word] = id
                words.append(word)
                counts.append(1)
            }
            ids.append(id)
            inSentence += 1
            if inSentence == Self.maxSentenceLength { ends.append(ids.count); inSentence = 0 }
            i = j
        }
        if inSentence > 0 { ends.append(ids.count) }
    }

    /// Bytes of the whitespace character at `i`, or 0: what Python's `str.isspace` accepts, in UTF-8.
    @inline(__always)
    static func whitespaceLength(_ s: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        let b = s[i]
        if b < 0x80 { return (b == 0x20 || (b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x1F)) ? 1 : 0 }
        let n = s.count - i
        switch b {
        case 0xC2: return n >= 2 && (s[i + 1] == 0x85 || s[i + 1] == 0xA0) ? 2 : 0           // U+0085, U+00A0
        case 0xE1: return n >= 3 && s[i + 1] == 0x9A && s[i + 2] == 0x80 ? 3 : 0             // U+1680
        case 0xE2:
            guard n >= 3 else { return 0 }
            if s[i + 1] == 0x80 {
                let c = s[i + 2]                                                              // U+2000–200A, 2028, 2029, 202F
                return (c >= 0x80 && c <= 0x8A) || c == 0xA8 || c == 0xA9 || c == 0xAF ? 3 : 0
            }
            return s[i + 1] == 0x81 && s[i + 2] == 0x9F ? 3 : 0                               // U+205F
        case 0xE3: return n >= 3 && s[i + 1] == 0x80 && s[i + 2] == 0x80 ? 3 : 0             // U+3000
        default: return 0
        }
    }

    /// Words in the corpus, all sentences.
    public var wordCount: Int { ids.count }
}
