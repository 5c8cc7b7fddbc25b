// The safetensors format (Hugging Face), read and written here without a library:
//
//   8 bytes   little-endian u64 N, the header length
//   N bytes   JSON: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//             "__metadata__": {"key": "value"}}  (offsets relative to the data section)
//   the rest  raw little-endian tensor data
//
// Reading maps the file privately (copy-on-write): F32 tensors use the mapped pages directly, with
// no copy, and F16/BF16 are converted from them, so a large checkpoint is never held twice and
// loading costs little more than the page faults of the weights actually touched. Every inconsistency in a file — truncated,
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

    /// A parsed file: the tensor entries, the metadata, and the (mapped) bytes.
    public struct File {
        public let entries: [String: Entry]
        public let metadata: [String: String]
        let bytes: UnsafeRawBufferPointer
        let owner: AnyObject // keeps `bytes` alive: the file mapping, or a copy of in-memory data
        let dataStart: Int
        let path: String

        /// The tensor `name` as Float. F32 data is not copied: the tensor uses the file's private
        /// (copy-on-write) mapping directly; F16 and BF16 are converted.
        public func tensor(_ name: String) throws -> Tensor {
            guard let e = entries[name] else { throw SafetensorsError(description: "\(path): no tensor named \(name)") }
            guard Safetensors.floatTypes.contains(e.dtype) else {
                throw SafetensorsError(description: "\(path): tensor \(name) is \(e.dtype), not one of the float types read here (F32, F16, BF16)")
            }
            let count = e.shape.reduce(1, *)
            let base = bytes.baseAddress! + dataStart + e.begin
            if e.dtype == "F32", Int(bitPattern: base) % 4 == 0 {
                return Tensor.borrowing(UnsafeMutableRawPointer(mutating: base).bindMemory(to: Float.self, capacity: count),
                                        shape: e.shape, owner: owner)
            }
            var values = [Float](repeating: 0, count: count)
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
            return Tensor(values, shape: e.shape)
        }

        /// The stored bytes of tensor `name`, valid while this File (its `owner`) lives.
        func rawBytes(_ name: String) -> UnsafeRawPointer? {
            entries[name].map { UnsafeRawPointer(bytes.baseAddress! + dataStart + $0.begin) }
        }

        /// What keeps the bytes alive.
        var storageOwner: AnyObject { owner }
    }

    /// A private, writable (copy-on-write) mapping of a whole file.
    final class MappedFile {
        let base: UnsafeMutableRawPointer
        let size: Int

        init(_ path: String) throws {
            let fd = Foundation.open(path, O_RDONLY)
            guard fd >= 0 else { throw SafetensorsError(description: "\(path): cannot read the file (does it exist?)") }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0 else { throw SafetensorsError(description: "\(path): cannot stat the file") }
            size = Int(info.st_size)
            guard size >= 8 else { throw SafetensorsError(description: "\(path): truncated: \(size) bytes, shorter than the 8-byte header length") }
            guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
                throw SafetensorsError(description: "\(path): cannot map the file into memory")
            }
            base = p
        }

        deinit { munmap(base, size) }
    }

    /// Bytes copied from a `Data`, for parsing images that are not files (tests, fuzzing).
    final class HeapBytes {
        let buffer: UnsafeMutableRawBufferPointer
        init(_ data: Data) {
            buffer = .allocate(byteCount: max(data.count, 1), alignment: 64)
            data.withUnsafeBytes { buffer.copyMemory(from: $0) }
        }
        deinit { buffer.deallocate() }
    }

    /// The float types tensors are read as; the others are parsed (checked, skipped) so that a checkpoint holding
    /// an integer buffer (BERT's position_ids, I64) still loads its weights.
    static let floatTypes: Set<String> = ["F32", "F16", "BF16"]
    static let dtypeSizes = ["F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4,
                             "U16": 2, "U8": 1, "BOOL": 1]

    /// Parses and validates the file at `path` (memory-mapped, private: nothing is read until used).
    public static func read(_ path: String) throws -> File {
        let mapped = try MappedFile(path)
        return try parse(UnsafeRawBufferPointer(start: mapped.base, count: mapped.size), owner: mapped, path: path)
    }

    /// Validates a safetensors image in memory.
    public static func parse(_ data: Data, path: String) throws -> File {
        let copy = HeapBytes(data)
        return try parse(UnsafeRawBufferPointer(start: copy.buffer.baseAddress, count: data.count), owner: copy, path: path)
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, owner: AnyObject, path: String) throws -> File {
        func fail(_ m: String) -> SafetensorsError { SafetensorsError(description: "\(path): \(m)") }
        guard bytes.count >= 8 else { throw fail("truncated: \(bytes.count) bytes, shorter than the 8-byte header length") }
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw fail("header length \(headerLength) runs past the end of the \(bytes.count)-byte file")
        }
        let dataStart = 8 + Int(headerLength)
        let header = Data(bytes[8..<dataStart])
        guard let json = try? JSONSerialization.jsonObject(with: header), let object = json as? [String: Any] else {
            throw fail("the header is not a JSON object")
        }
        var entries: [String: Entry] = [:], metadata: [String: String] = [:]
        let dataSize = bytes.count - dataStart
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
                throw fail("tensor \(name): dtype \(dtype) is not a safetensors dtype this reader knows")
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
        return File(entries: entries, metadata: metadata, bytes: bytes, owner: owner, dataStart: dataStart, path: path)
    }

    /// One tensor to write: name, dtype (F32, F16, BF16), shape, and its little-endian bytes.
    public struct RawTensor {
        public let name: String, dtype: String, shape: [Int]
        public let bytes: UnsafeRawBufferPointer
        let owner: AnyObject?
        public init(name: String, dtype: String, shape: [Int], bytes: UnsafeRawBufferPointer, owner: AnyObject?) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
            self.owner = owner
        }
    }

    /// The bytes of a safetensors file holding `tensors` as F32 (names sorted, header padded to 8 bytes).
    public static func serialize(_ tensors: [(String, Tensor)], metadata: [String: String] = [:]) throws -> Data {
        // The Tensors stay alive in `tensors` for the whole call, so their storage pointers stay valid.
        let raw = tensors.map { name, t in
            t.withUnsafeBufferPointer { RawTensor(name: name, dtype: "F32", shape: t.shape, bytes: UnsafeRawBufferPointer($0), owner: t) }
        }
        return try serialize(raw: raw, metadata: metadata)
    }

    /// The bytes of a safetensors file holding `raw` tensors of any supported dtype.
    public static func serialize(raw tensors: [RawTensor], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        let ordered = tensors.sorted { $0.name < $1.name }
        for t in ordered {
            precondition(t.bytes.count == t.shape.reduce(1, *) * (dtypeSizes[t.dtype] ?? 0), "\(t.name): size and shape disagree")
            header[t.name] = ["dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + t.bytes.count]]
            offset += t.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) } // spaces: the data section starts 8-byte aligned
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for t in ordered { out.append(contentsOf: t.bytes) }
        return out
    }

    /// Writes a safetensors file atomically (a temporary file, then a rename).
    public static func write(_ tensors: [(String, Tensor)], metadata: [String: String] = [:], to path: String) throws {
        try serialize(tensors, metadata: metadata).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
