// The two file formats of the original word2vec tool, which gensim's `KeyedVectors.load_word2vec_format`
// and `save_word2vec_format` read and write:
//   text    "COUNT DIMENSION\n", then a line per word: the word and its values separated by single spaces;
//   binary  the same header, then per word: the word, a space, DIMENSION little-endian float32 values, and
//           (in Google's files; gensim leaves it out) a newline.
// Words are UTF-8. Which of the two a file is, is read from the file itself. Files are written to a
// temporary name and renamed, so a vectors file is never half-written.

import Foundation
import Models

public enum Word2VecFormat {
    public enum Layout: String, Sendable { case text, binary }

    public static func read(_ path: String) throws -> WordVectors {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Word2VecError("\(path): cannot read the file (does it exist?)")
        }
        return try read([UInt8](data), name: path)
    }

    public static func read(_ bytes: [UInt8], name: String) throws -> WordVectors {
        func fail(_ message: String) -> Word2VecError { Word2VecError("\(name): \(message)") }
        guard let headerEnd = bytes.firstIndex(of: 0x0A) else { throw fail("no header line ('COUNT DIMENSION')") }
        let header = String(decoding: bytes[..<headerEnd], as: UTF8.self).split(whereSeparator: \.isWhitespace)
        guard header.count == 2, let count = Int(header[0]), let dimension = Int(header[1]), count >= 0, dimension > 0,
              count < Int(Int32.max), dimension < 1 << 20 else {
            throw fail("the first line is not a word2vec header ('COUNT DIMENSION')")
        }
        let body = headerEnd + 1
        // Every row takes at least 2 bytes a value (text: a digit and a space) and 2 more: checked before anything
        // is allocated, so a damaged header cannot ask for gigabytes.
        let (needed, overflow) = count.multipliedReportingOverflow(by: 2 * dimension + 2)
        guard !overflow, needed <= bytes.count - body else {
            throw fail("the header announces \(count) words of \(dimension) values, more than the file's \(bytes.count) bytes can hold")
        }
        return try isText(bytes, from: body, dimension: dimension)
            ? readText(bytes, from: body, count: count, dimension: dimension, fail: fail)
            : readBinary(bytes, from: body, count: count, dimension: dimension, fail: fail)
    }

    /// A text file's first row is a word and `dimension` fields separated by single spaces, all UTF-8; a
    /// binary row's 4 × dimension bytes almost never split that way.
    private static func isText(_ bytes: [UInt8], from start: Int, dimension: Int) throws -> Bool {
        let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
        let row = bytes[start..<end], fields = row.split(separator: 0x20, omittingEmptySubsequences: false)
        return fields.count == dimension + 1 && String(validating: row, as: UTF8.self) != nil
    }

    private static func readText(_ bytes: [UInt8], from start: Int, count: Int, dimension: Int,
                                 fail: (String) -> Word2VecError) throws -> WordVectors {
        var words: [String] = [], values: [Float] = []
        words.reserveCapacity(count)
        values.reserveCapacity(count * dimension)
        var position = start, line = 2
        while words.count < count {
            guard position < bytes.count else { throw fail("the file ends after \(words.count) of the \(count) words its header announces") }
            let end = bytes[position...].firstIndex(of: 0x0A) ?? bytes.count
            guard let text = String(validating: bytes[position..<end], as: UTF8.self) else { throw fail("line \(line) is not UTF-8") }
            let fields = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == dimension + 1 else {
                throw fail("line \(line) has \(fields.count - 1) values; the header says \(dimension)")
            }
            for field in fields.dropFirst() {
                guard let v = Float(field) else { throw fail("line \(line): \"\(field.prefix(20))\" is not a number") }
                values.append(v)
            }
            words.append(String(fields[0]))
            position = end + 1
            line += 1
        }
        try expectEnd(bytes, from: position, count: count, fail: fail)
        return WordVectors(words: words, dimension: dimension, values: values)
    }

    private static func readBinary(_ bytes: [UInt8], from start: Int, count: Int, dimension: Int,
                                   fail: (String) -> Word2VecError) throws -> WordVectors {
        var words: [String] = [], values = [Float](repeating: 0, count: count * dimension)
        words.reserveCapacity(count)
        var position = start
        for i in 0..<count {
            while position < bytes.count && bytes[position] == 0x0A { position += 1 } // Google's newline after a vector
            guard let space = bytes[position...].firstIndex(of: 0x20) else {
                throw fail("the file ends after \(i) of the \(count) words its header announces")
            }
            guard let word = String(validating: bytes[position..<space], as: UTF8.self), !word.isEmpty else {
                throw fail("word \(i + 1) is \(space == position ? "empty" : "not UTF-8") (is this really a word2vec file?)")
            }
            let first = space + 1, last = first + 4 * dimension
            guard last <= bytes.count else {
                throw fail("the file ends inside the vector of word \(i + 1) of \(count) (\"\(word.prefix(20))\")")
            }
            bytes.withUnsafeBytes { raw in
                for k in 0..<dimension {
                    values[i * dimension + k] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: first + 4 * k, as: UInt32.self)))
                }
            }
            words.append(word)
            position = last
        }
        try expectEnd(bytes, from: position, count: count, fail: fail)
        return WordVectors(words: words, dimension: dimension, values: values)
    }

    /// Only white space may follow the last row the header announces.
    private static func expectEnd(_ bytes: [UInt8], from position: Int, count: Int, fail: (String) -> Word2VecError) throws {
        guard bytes[min(position, bytes.count)...].allSatisfy({ $0 == 0x0A || $0 == 0x0D || $0 == 0x20 }) else {
            throw fail("more rows follow the \(count) words its header announces")
        }
    }

    /// The file's bytes in `layout`.
    public static func encode(_ vectors: WordVectors, layout: Layout) -> [UInt8] {
        var out = Array("\(vectors.words.count) \(vectors.dimension)\n".utf8)
        out.reserveCapacity(vectors.words.count * (layout == .binary ? 4 * vectors.dimension + 16 : 12 * vectors.dimension + 16))
        let d = vectors.dimension
        for (i, word) in vectors.words.enumerated() {
            out.append(contentsOf: word.utf8)
            switch layout {
            case .text:
                for k in 0..<d {
                    out.append(0x20)
                    out.append(contentsOf: vectors.values[i * d + k].description.utf8) // the shortest decimal that reads back the float
                }
            case .binary:
                out.append(0x20)
                for k in 0..<d { withUnsafeBytes(of: vectors.values[i * d + k].bitPattern.littleEndian) { out += $0 } }
            }
            out.append(0x0A)
        }
        return out
    }

    /// Writes `vectors` to `path` (through a temporary file renamed when complete).
    public static func write(_ vectors: WordVectors, to path: String, layout: Layout) throws {
        try Data(encode(vectors, layout: layout)).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
