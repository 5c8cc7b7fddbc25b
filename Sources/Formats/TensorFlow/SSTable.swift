// Reading a LevelDB table ("SSTable"), the sorted key → value file TensorFlow uses as a checkpoint's index
// (`model.ckpt.index`). Layout, from the end:
//   footer (48 bytes): metaindex handle, index handle (each two varints: offset, size), zero padding,
//                      magic 0xdb4775248b80fb57 (little-endian)
//   index block:       one entry per data block: key ≥ the block's last key → the block's handle
//   data blocks:       entries with prefix-compressed keys: varint shared, varint unshared, varint value
//                      length, the key's new bytes, the value; then restart offsets (u32 each) and their count
// Every block is followed by a 1-byte compression type (0: none; 1 is Snappy, which TensorFlow does not use for
// checkpoints) and the masked CRC-32C of the block and that byte. Every offset and length is checked
// against the file, so a damaged index is an error, never a crash.

import Foundation
import Models

enum SSTable {
    static let magic: UInt64 = 0xDB47_7524_8B80_FB57

    /// Every (key, value) of the table, in key order.
    static func entries(_ bytes: UnsafeRawBufferPointer, path: String) throws -> [([UInt8], [UInt8])] {
        func fail(_ m: String) -> GPTError { GPTError(description: "\(path): not a readable TensorFlow index (\(m))") }
        let n = bytes.count
        guard n >= 48 else { throw fail("\(n) bytes is shorter than a table's footer") }
        let magic = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[n - 8 + $1]) << (8 * UInt64($1)) }
        guard magic == Self.magic else { throw fail("no table magic number at the end") }
        var footer = Reader(bytes: UnsafeRawBufferPointer(rebasing: bytes[(n - 48)..<(n - 8)]), fail: fail)
        _ = try footer.handle() // metaindex: nothing we need
        let index = try footer.handle()
        var result: [([UInt8], [UInt8])] = []
        for (_, value) in try block(bytes, index, fail: fail) {
            let handle = try value.withUnsafeBytes { v in
                var r = Reader(bytes: v, fail: fail)
                return try r.handle()
            }
            result += try block(bytes, handle, fail: fail)
        }
        return result
    }

    /// The entries of the block at `handle` (offset, size), after checking its trailer.
    private static func block(_ file: UnsafeRawBufferPointer, _ handle: (Int, Int), fail: @escaping (String) -> GPTError) throws -> [([UInt8], [UInt8])] {
        let (offset, size) = handle
        guard offset >= 0, size >= 4, offset <= file.count, size <= file.count - offset, 5 <= file.count - offset - size else {
            throw fail("a block at \(offset) of \(size) bytes lies outside the file")
        }
        let contents = UnsafeRawBufferPointer(rebasing: file[offset..<(offset + size)])
        let type = file[offset + size]
        let stored = (0..<4).reduce(UInt32(0)) { $0 | UInt32(file[offset + size + 1 + $1]) << (8 * UInt32($1)) }
        // The CRC covers the contents and the type byte after them: one contiguous range of the file.
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: file[offset..<(offset + size + 1)]))
        guard CRC32C.masked(crc) == stored else { throw fail("the block at \(offset) fails its CRC-32C check: the file is damaged") }
        guard type == 0 else { throw fail("the block at \(offset) is compressed (type \(type)); only uncompressed tables are read") }
        let restarts = Int(contents.load(fromByteOffset: size - 4, as: UInt32.self).littleEndian)
        guard restarts <= (size - 4) / 4 else { throw fail("the block at \(offset) has \(restarts) restart points, more than fit") }
        let end = size - 4 - 4 * restarts
        var r = Reader(bytes: UnsafeRawBufferPointer(rebasing: contents[0..<end]), fail: fail)
        var entries: [([UInt8], [UInt8])] = [], key: [UInt8] = []
        while !r.atEnd {
            let shared = try r.varint(), unshared = try r.varint(), valueLength = try r.varint()
            guard shared <= key.count else { throw fail("an entry shares \(shared) bytes of a \(key.count)-byte key") }
            key = Array(key[0..<shared]) + (try r.bytes(unshared))
            entries.append((key, try r.bytes(valueLength)))
        }
        return entries
    }

    /// Varints and byte runs from a buffer, every read checked against its end.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        let fail: (String) -> GPTError
        var at = 0
        var atEnd: Bool { at >= bytes.count }

        mutating func varint() throws -> Int {
            var value: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard at < bytes.count else { throw fail("a number runs past the end of its block") }
                let b = bytes[at]
                at += 1
                guard shift < 64 else { throw fail("a number is longer than 64 bits") }
                value |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { break }
                shift += 7
            }
            guard value <= UInt64(Int.max) else { throw fail("a number is too large") }
            return Int(value)
        }

        mutating func bytes(_ count: Int) throws -> [UInt8] {
            guard count >= 0, count <= bytes.count - at else { throw fail("\(count) bytes run past the end of their block") }
            defer { at += count }
            return Array(bytes[at..<(at + count)])
        }

        mutating func handle() throws -> (Int, Int) { (try varint(), try varint()) }
    }
}
