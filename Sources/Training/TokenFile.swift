// Token files: a corpus tokenized once (`llm prepare`) and memory-mapped by training, so a corpus
// larger than RAM trains and nothing is tokenized twice.
//
// Layout (little-endian), version 1:
//   0   8 bytes  magic "LLMTOKEN"
//   8   u32      version (1)
//   12  u32      bytes per token (2 when every id fits in 16 bits, as gpt2's do; else 4)
//   16  u64      number of tokens
//   24  40 bytes encoding name, UTF-8, zero-padded
//   64  tokens

import Foundation

/// Token ids held in memory or read from a memory-mapped token file, without copying the file.
public struct TokenStore: @unchecked Sendable { // the mapped Data is never mutated
    private let array: [Int]?
    private let data: Data?
    private let offset: Int, width: Int
    public let count: Int

    public init(_ tokens: [Int]) {
        array = tokens
        data = nil
        offset = 0
        width = 0
        count = tokens.count
    }

    init(mapped data: Data, offset: Int, width: Int, count: Int) {
        array = nil
        self.data = data
        self.offset = offset
        self.width = width
        self.count = count
    }

    /// Tokens start..<start+length.
    public func slice(_ start: Int, _ length: Int) -> [Int] {
        if let array { return Array(array[start..<(start + length)]) }
        return data!.withUnsafeBytes { raw in
            (0..<length).map { i in
                let at = offset + (start + i) * width
                return width == 2 ? Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
                                  : Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            }
        }
    }

    /// The tokens in `range`, sharing the storage.
    public func subrange(_ range: Range<Int>) -> TokenStore {
        if let array { return TokenStore(Array(array[range])) }
        return TokenStore(mapped: data!, offset: offset + range.lowerBound * width, width: width, count: range.count)
    }
}

public enum TokenFile {
    static let magic = Array("LLMTOKEN".utf8)
    static let headerSize = 64

    /// Writes `tokens` with the name of the encoding that made them, atomically.
    public static func write(_ tokens: [Int], encoding: String, to path: String) throws {
        let width = (tokens.max() ?? 0) < 65536 ? 2 : 4
        var out = Data(capacity: headerSize + tokens.count * width)
        out.append(contentsOf: magic)
        func append<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        append(UInt32(1))
        append(UInt32(width))
        append(UInt64(tokens.count))
        var name = Array(encoding.utf8.prefix(40))
        name += [UInt8](repeating: 0, count: 40 - name.count)
        out.append(contentsOf: name)
        for t in tokens { if width == 2 { append(UInt16(t)) } else { append(UInt32(t)) } }
        try out.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Maps a token file; returns its tokens and the encoding name. Every inconsistency is an error.
    public static func open(_ path: String) throws -> (tokens: TokenStore, encoding: String) {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw DatasetError(description: "\(path): cannot read the file (does it exist?)")
        }
        guard data.count >= headerSize, Array(data.prefix(8)) == magic else {
            throw DatasetError(description: "\(path): not a token file (made by `llm prepare`)")
        }
        let (version, width, promised) = data.withUnsafeBytes { raw in
            (UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
             Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 12, as: UInt32.self))),
             UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
        }
        guard version == 1 else { throw DatasetError(description: "\(path): token file version \(version); this build reads version 1") }
        guard width == 2 || width == 4 else { throw DatasetError(description: "\(path): \(width) bytes per token is not 2 or 4") }
        let held = (data.count - headerSize) / width
        // Compared before any arithmetic: a damaged count (up to 2^64 - 1) must not overflow (found by fuzzing).
        guard promised == UInt64(held), data.count == headerSize + held * width else {
            throw DatasetError(description: "\(path): the header promises \(promised) tokens but the file holds \(held) (truncated?)")
        }
        let name = String(decoding: data[24..<64].prefix { $0 != 0 }, as: UTF8.self)
        return (TokenStore(mapped: data, offset: headerSize, width: width, count: held), name)
    }
}
