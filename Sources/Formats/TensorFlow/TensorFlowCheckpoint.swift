// TensorFlow's checkpoint format ("tensor bundle", what `tf.train.Saver` wrote for OpenAI's GPT-2), read
// without TensorFlow:
//   PREFIX.index                    an SSTable (SSTable.swift): tensor name → BundleEntryProto, and the
//                                   empty name → BundleHeaderProto (number of data files, byte order)
//   PREFIX.data-00000-of-00001      the tensors' bytes, back to back
// A BundleEntryProto (protobuf) says where a tensor is: dtype (1), shape (2: dims of field 1 → size),
// shard (3), offset (4), size (5), masked CRC-32C of the bytes (6, fixed32); sliced tensors (7) are not
// read. Every tensor's CRC is checked, so a damaged or truncated download is an error that names the tensor.

import Foundation
import Models

public enum TensorFlowCheckpoint {
    /// A tensor's shape and values (as Float, whatever the stored floating-point type).
    public struct Tensor {
        public let shape: [Int]
        public let values: [Float]
    }

    /// Reads every tensor of the checkpoint at `prefix` (e.g. DIR/model.ckpt).
    public static func read(prefix: String) throws -> [String: Tensor] {
        let indexPath = prefix + ".index"
        guard let index = FileManager.default.contents(atPath: indexPath) else {
            throw GPTError(description: "\(indexPath): missing (a TensorFlow checkpoint is PREFIX.index plus PREFIX.data-*)")
        }
        let entries = try index.withUnsafeBytes { try SSTable.entries($0, path: indexPath) }
        func fail(_ m: String) -> GPTError { GPTError(description: "\(indexPath): \(m)") }
        var shards = 1
        var located: [(String, Entry)] = []
        for (key, value) in entries {
            if key.isEmpty {
                let header = try Protobuf.fields(value, fail: fail)
                shards = header[1]?.first?.integer ?? 1
                guard header[2]?.first?.integer ?? 0 == 0 else { throw fail("the tensors are big-endian; only little-endian checkpoints are read") }
                continue
            }
            guard let name = String(bytes: key, encoding: .utf8) else { throw fail("a tensor name is not UTF-8") }
            located.append((name, try Entry(value, name: name, fail: fail)))
        }
        guard shards >= 1, shards <= 100_000 else { throw fail("\(shards) data files is not a sensible count") }
        var files: [Int: Data] = [:]
        var tensors: [String: Tensor] = [:]
        for (name, entry) in located {
            guard entry.shard < shards else { throw fail("\(name) is in data file \(entry.shard) of \(shards)") }
            if files[entry.shard] == nil {
                let path = prefix + String(format: ".data-%05d-of-%05d", entry.shard, shards)
                guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
                    throw GPTError(description: "\(path): missing or unreadable (the checkpoint's index refers to it)")
                }
                files[entry.shard] = data
            }
            let data = files[entry.shard]!
            guard entry.offset <= data.count, entry.size <= data.count - entry.offset else {
                throw fail("\(name) lies past the end of its data file (\(data.count) bytes): the download is incomplete")
            }
            tensors[name] = try data.withUnsafeBytes { all in
                let bytes = UnsafeRawBufferPointer(rebasing: all[entry.offset..<(entry.offset + entry.size)])
                guard CRC32C.masked(CRC32C.checksum(bytes)) == entry.crc else {
                    throw fail("\(name) fails its CRC-32C check: the data file is damaged")
                }
                return Tensor(shape: entry.shape, values: try entry.floats(bytes, name: name, fail: fail))
            }
        }
        return tensors
    }

    /// Where one tensor is and what it holds.
    struct Entry {
        let dtype: Int, shape: [Int], shard: Int, offset: Int, size: Int, crc: UInt32

        init(_ bytes: [UInt8], name: String, fail: @escaping (String) -> GPTError) throws {
            let f = try Protobuf.fields(bytes, fail: fail)
            guard f[7] == nil else { throw fail("\(name) is stored in slices (a partitioned variable), which is not read") }
            dtype = f[1]?.first?.integer ?? 0
            var dims: [Int] = []
            for dim in try Protobuf.fields(f[2]?.first?.bytes ?? [], fail: fail)[2] ?? [] {
                dims.append(try Protobuf.fields(dim.bytes ?? [], fail: fail)[1]?.first?.integer ?? 0)
            }
            shape = dims
            shard = f[3]?.first?.integer ?? 0
            offset = f[4]?.first?.integer ?? 0
            size = f[5]?.first?.integer ?? 0
            crc = UInt32(truncatingIfNeeded: f[6]?.first?.integer ?? 0)
            let count = dims.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
            guard dims.allSatisfy({ $0 >= 0 }), count != Int.max, let width = Self.width(dtype),
                  count.multipliedReportingOverflow(by: width).partialValue == size else {
                throw fail("\(name): dtype \(dtype) and shape \(dims) do not match its \(size) bytes (floating-point tensors only)")
            }
        }

        /// Bytes per value of the floating-point types read: DT_FLOAT, DT_DOUBLE, DT_BFLOAT16, DT_HALF.
        static func width(_ dtype: Int) -> Int? { [1: 4, 2: 8, 14: 2, 19: 2][dtype] }

        func floats(_ bytes: UnsafeRawBufferPointer, name: String, fail: (String) -> GPTError) throws -> [Float] {
            let n = size / Self.width(dtype)!
            return (0..<n).map { i in
                switch dtype {
                case 1: Float(bitPattern: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian)
                case 2: Float(Double(bitPattern: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian))
                case 14: Float(bitPattern: UInt32(bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16)
                default: Float(Float16(bitPattern: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian))
                }
            }
        }
    }
}

/// The protobuf wire format, as far as a checkpoint's index needs it: field number → values (varints and
/// fixed numbers as integers, length-delimited fields as bytes).
enum Protobuf {
    struct Value {
        var integer: Int?
        var bytes: [UInt8]?
    }

    static func fields(_ message: [UInt8], fail: @escaping (String) -> GPTError) throws -> [Int: [Value]] {
        try message.withUnsafeBytes { raw in
            var r = SSTable.Reader(bytes: raw, fail: fail)
            var out: [Int: [Value]] = [:]
            while !r.atEnd {
                let tag = try r.varint(), field = tag >> 3
                let value: Value
                switch tag & 7 {
                case 0: value = Value(integer: try r.varint())
                case 1: value = Value(integer: Int(truncatingIfNeeded: try r.bytes(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.1) << (8 * UInt64($1.0)) }))
                case 2: value = Value(bytes: try r.bytes(try r.varint()))
                case 5: value = Value(integer: Int(try r.bytes(4).enumerated().reduce(UInt32(0)) { $0 | UInt32($1.1) << (8 * UInt32($1.0)) }))
                default: throw fail("a protobuf field of wire type \(tag & 7), which an index entry never holds")
                }
                out[field, default: []].append(value)
            }
            return out
        }
    }
}
