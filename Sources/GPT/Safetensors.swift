// The safetensors format (Hugging Face), read and written here without a library:
//
//   8 bytes   little-endian u64 N, the header length
//   N bytes   JSON: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//             "__metadata__": {"key": "value"}}  (offsets relative to the data section)
//   the rest  raw little-endian tensor data
//
// Reading memory-maps the file and converts each tensor to Float straight from the mapping (F32,
// F16, BF16), so a large checkpoint is never held twice. Every inconsistency in a file — truncated,
// header past the end, offsets outside the data or overlapping, unknown dtype, size that does not
// match the shape — is a thrown error that names the file and the tensor.

import Foundation
import Tensors

public struct SafetensorsError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public var errorDescription: String? { description }
}

public enum Safetensors {
    public struct Entry: Sendable {
        public let dtype: String
        public let shape: [Int]
        public let begin: Int, end: Int
    }

    /// A parsed file: the tensor entries, the metadata, and the mapped bytes.
    public struct File {
        public let entries: [String: Entry]
        public let metadata: [String: String]
        let data: Data
        let dataStart: Int
        let path: String

        /// The tensor `name` as Float.
        public func tensor(_ name: String) throws -> Tensor {
            guard let e = entries[name] else { throw SafetensorsError(description: "\(path): no tensor named \(name)") }
            let count = e.shape.reduce(1, *)
            var values = [Float](repeating: 0, count: count)
            data.withUnsafeBytes { raw in
                let base = raw.baseAddress! + dataStart + e.begin
                switch e.dtype {
                case "F32":
                    values.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: base, count: count * 4)) }
                case "F16":
                    for i in 0..<count { values[i] = Float(Float16(bitPattern: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                default: // BF16: the top half of a Float32
                    for i in 0..<count {
                        values[i] = Float(bitPattern: UInt32(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
                    }
                }
            }
            return Tensor(values, shape: e.shape)
        }
    }

    static let dtypeSizes = ["F32": 4, "F16": 2, "BF16": 2]

    /// Parses and validates the file at `path` (memory-mapped).
    public static func read(_ path: String) throws -> File {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw SafetensorsError(description: "\(path): cannot read the file (does it exist?)")
        }
        return try parse(data, path: path)
    }

    /// Validates a safetensors image in memory.
    public static func parse(_ data: Data, path: String) throws -> File {
        func fail(_ m: String) -> SafetensorsError { SafetensorsError(description: "\(path): \(m)") }
        guard data.count >= 8 else { throw fail("truncated: \(data.count) bytes, shorter than the 8-byte header length") }
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw fail("header length \(headerLength) runs past the end of the \(data.count)-byte file")
        }
        let dataStart = 8 + Int(headerLength)
        let header = data.subdata(in: 8..<dataStart)
        guard let json = try? JSONSerialization.jsonObject(with: header), let object = json as? [String: Any] else {
            throw fail("the header is not a JSON object")
        }
        var entries: [String: Entry] = [:], metadata: [String: String] = [:]
        let dataSize = data.count - dataStart
        for (name, value) in object {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw fail("__metadata__ must map strings to strings") }
                metadata = m
                continue
            }
            guard let fields = value as? [String: Any], let dtype = fields["dtype"] as? String,
                  let shape = fields["shape"] as? [Int], let offsets = fields["data_offsets"] as? [Int], offsets.count == 2 else {
                throw fail("tensor \(name): expected {dtype, shape, data_offsets: [begin, end]}")
            }
            guard let size = dtypeSizes[dtype] else {
                throw fail("tensor \(name): dtype \(dtype) is not supported (F32, F16, BF16 are)")
            }
            guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, { $0.multipliedReportingOverflow(by: $1).partialValue }) < Int(Int32.max) else {
                throw fail("tensor \(name): invalid shape \(shape)")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, end >= begin, end <= dataSize else {
                throw fail("tensor \(name): data_offsets [\(begin), \(end)] are outside the \(dataSize)-byte data section")
            }
            guard end - begin == shape.reduce(1, *) * size else {
                throw fail("tensor \(name): \(end - begin) bytes do not hold shape \(shape) of \(dtype)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, begin: begin, end: end)
        }
        let sorted = entries.sorted { $0.value.begin < $1.value.begin }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.value.begin < a.value.end && b.value.end > b.value.begin {
            throw fail("tensors \(a.key) and \(b.key) overlap")
        }
        return File(entries: entries, metadata: metadata, data: data, dataStart: dataStart, path: path)
    }

    /// The bytes of a safetensors file holding `tensors` as F32 (names sorted, header padded to 8 bytes).
    public static func serialize(_ tensors: [(String, Tensor)], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        let ordered = tensors.sorted { $0.0 < $1.0 }
        for (name, t) in ordered {
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + t.count * 4]]
            offset += t.count * 4
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) } // spaces: the data section starts 8-byte aligned
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for (_, t) in ordered { t.withUnsafeBufferPointer { out.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) } }
        return out
    }

    /// Writes a safetensors file atomically (a temporary file, then a rename).
    public static func write(_ tensors: [(String, Tensor)], metadata: [String: String] = [:], to path: String) throws {
        try serialize(tensors, metadata: metadata).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
