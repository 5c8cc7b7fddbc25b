// GGUF, the file format of ggml / llama.cpp / Ollama, read and written here without a library (v3, and
// v2 for reading, which has the same layout):
//
//   u32 magic "GGUF", u32 version, u64 tensor count, u64 metadata count
//   metadata:  string key, u32 value type, value  (strings: u64 length + UTF-8; arrays: u32 element type,
//              u64 count, elements)
//   tensors:   string name, u32 dimension count, u64 dimensions (innermost first: ne[0] is the length of a
//              row), u32 ggml type, u64 offset into the data section
//   padding to `general.alignment` (32 by default), then the data section; each tensor's offset is aligned.
//
// Reading maps the file (read-only) and checks every count, length, offset and size against the file
// before anything is used, so a truncated or damaged file is one error naming the file and the item —
// never a crash. Writing streams tensors to a temporary file in the destination's folder and renames it,
// so a GGUF never appears half-written. What the tensors mean is GGUFGPT2.swift's and GGUFLlama.swift's job.

import CKernels
import Foundation

public struct GGUFError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public var errorDescription: String? { description }
}

public enum GGUF {
    public static let magic: UInt32 = 0x4655_4747 // "GGUF" read as a little-endian u32
    public static let version: UInt32 = 3
    public static let defaultAlignment = 32

    /// A metadata value, typed as GGUF types it.
    public indirect enum Value: Equatable, Sendable {
        case u8(UInt8), i8(Int8), u16(UInt16), i16(Int16), u32(UInt32), i32(Int32), f32(Float), bool(Bool)
        case string(String), array(ValueType, [Value]), u64(UInt64), i64(Int64), f64(Double)

        public var int: Int? {
            switch self {
            case let .u8(v): Int(v)
            case let .i8(v): Int(v)
            case let .u16(v): Int(v)
            case let .i16(v): Int(v)
            case let .u32(v): Int(v)
            case let .i32(v): Int(v)
            case let .u64(v): v <= UInt64(Int.max) ? Int(v) : nil
            case let .i64(v): Int(v)
            default: nil
            }
        }

        public var float: Double? {
            switch self {
            case let .f32(v): Double(v)
            case let .f64(v): v
            default: int.map(Double.init)
            }
        }

        public var string: String? { if case let .string(s) = self { s } else { nil } }
        public var array: [Value]? { if case let .array(_, a) = self { a } else { nil } }
    }

    public enum ValueType: UInt32, Sendable {
        case u8 = 0, i8, u16, i16, u32, i32, f32, bool, string, array, u64, i64, f64
        var fixedSize: Int? {
            switch self {
            case .u8, .i8, .bool: 1
            case .u16, .i16: 2
            case .u32, .i32, .f32: 4
            case .u64, .i64, .f64: 8
            case .string, .array: nil
            }
        }
    }

    public struct TensorInfo: Sendable {
        public let name: String
        /// ne[0] first: a 2-D weight of n outputs by k inputs is [k, n].
        public let dimensions: [Int]
        public let type: UInt32
        /// Offset into the data section.
        public let offset: Int
        public let byteCount: Int
        public var elementCount: Int { dimensions.reduce(1, *) }
    }

    /// Names of the ggml types, for error messages.
    static func typeName(_ type: UInt32) -> String {
        let names: [UInt32: String] = [0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1",
                                       10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS",
                                       17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS",
                                       24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M", 30: "BF16",
                                       31: "Q4_0_4_4", 32: "Q4_0_4_8", 33: "Q4_0_8_8", 34: "TQ1_0", 35: "TQ2_0",
                                       36: "IQ4_NL_4_4", 37: "IQ4_NL_4_8", 38: "IQ4_NL_8_8", 39: "MXFP4"]
        return names[type].map { "\($0) (\(type))" } ?? "type \(type)"
    }

    /// A parsed file: metadata, tensor directory, and the mapped bytes.
    public final class File: @unchecked Sendable { // immutable after parsing
        public let path: String
        public let version: UInt32
        public let metadata: [String: Value]
        /// Tensors in file order.
        public let tensors: [TensorInfo]
        public let alignment: Int
        let bytes: UnsafeRawBufferPointer
        let dataStart: Int
        let owner: AnyObject

        init(path: String, version: UInt32, metadata: [String: Value], tensors: [TensorInfo], alignment: Int,
             bytes: UnsafeRawBufferPointer, dataStart: Int, owner: AnyObject) {
            self.path = path
            self.version = version
            self.metadata = metadata
            self.tensors = tensors
            self.alignment = alignment
            self.bytes = bytes
            self.dataStart = dataStart
            self.owner = owner
        }

        public func tensor(_ name: String) -> TensorInfo? { tensors.first { $0.name == name } }

        /// The stored bytes of a tensor (valid while this File lives).
        public func data(_ info: TensorInfo) -> UnsafeRawPointer { bytes.baseAddress! + dataStart + info.offset }

        /// The mapping, for objects that borrow tensor data to keep alive.
        public var storageOwner: AnyObject { self }
    }

    /// A read-only mapping of a whole file.
    final class Mapping {
        let base: UnsafeMutableRawPointer?
        let size: Int
        init(_ path: String) throws {
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw GGUFError(description: "\(path): cannot read the file (does it exist?)") }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
                throw GGUFError(description: "\(path): not a regular file")
            }
            size = Int(info.st_size)
            guard size > 0 else { throw GGUFError(description: "\(path): the file is empty") }
            guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
                throw GGUFError(description: "\(path): cannot map the file into memory")
            }
            base = p
        }
        deinit { if let base { munmap(base, size) } }
    }

    /// Reads and validates the GGUF file at `path` (memory-mapped; tensor data is touched only when used).
    public static func read(_ path: String) throws -> File {
        let mapping = try Mapping(path)
        return try parse(UnsafeRawBufferPointer(start: mapping.base, count: mapping.size), owner: mapping, path: path)
    }

    /// Validates a GGUF image in memory (tests, fuzzing).
    public static func parse(_ data: Data, path: String) throws -> File {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(data.count, 1), alignment: 64)
        data.withUnsafeBytes { copy.copyMemory(from: $0) }
        final class Heap { let b: UnsafeMutableRawBufferPointer; init(_ b: UnsafeMutableRawBufferPointer) { self.b = b }; deinit { b.deallocate() } }
        return try parse(UnsafeRawBufferPointer(start: copy.baseAddress, count: data.count), owner: Heap(copy), path: path)
    }

    /// A bounds-checked little-endian reader over the file's bytes.
    struct Cursor {
        let bytes: UnsafeRawBufferPointer
        let path: String
        var at = 0

        func fail(_ message: String) -> GGUFError { GGUFError(description: "\(path): \(message)") }

        mutating func take<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
            guard at + MemoryLayout<T>.size <= bytes.count else {
                throw fail("truncated: the file ends inside \(what()) (byte \(at) of \(bytes.count))")
            }
            defer { at += MemoryLayout<T>.size }
            return T(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: T.self))
        }

        mutating func string(_ what: @autoclosure () -> String) throws -> String {
            let length = try take(UInt64.self, what())
            guard length <= UInt64(bytes.count - at) else {
                throw fail("\(what()): a string of \(length) bytes runs past the end of the file")
            }
            let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[at..<(at + Int(length))]), as: UTF8.self)
            at += Int(length)
            return s
        }

        mutating func value(_ type: ValueType, _ what: String, depth: Int = 0) throws -> Value {
            switch type {
            case .u8: return .u8(try take(UInt8.self, what))
            case .i8: return .i8(try take(Int8.self, what))
            case .u16: return .u16(try take(UInt16.self, what))
            case .i16: return .i16(try take(Int16.self, what))
            case .u32: return .u32(try take(UInt32.self, what))
            case .i32: return .i32(try take(Int32.self, what))
            case .f32: return .f32(Float(bitPattern: try take(UInt32.self, what)))
            case .bool:
                let b = try take(UInt8.self, what)
                guard b <= 1 else { throw fail("\(what): a bool must be 0 or 1, found \(b)") }
                return .bool(b == 1)
            case .string: return .string(try string(what))
            case .u64: return .u64(try take(UInt64.self, what))
            case .i64: return .i64(try take(Int64.self, what))
            case .f64: return .f64(Double(bitPattern: try take(UInt64.self, what)))
            case .array:
                guard depth == 0 else { throw fail("\(what): arrays of arrays are not supported") }
                let raw = try take(UInt32.self, what)
                guard let element = ValueType(rawValue: raw) else { throw fail("\(what): unknown array element type \(raw)") }
                let count = try take(UInt64.self, what)
                // Every element takes at least one byte (strings eight): a count the file cannot hold is damage.
                let smallest = UInt64(element.fixedSize ?? 8)
                guard count <= UInt64(bytes.count - at) / smallest else {
                    throw fail("\(what): an array of \(count) elements cannot fit in the rest of the file")
                }
                var items: [Value] = []
                items.reserveCapacity(Int(count))
                for i in 0..<Int(count) { items.append(try value(element, "\(what)[\(i)]", depth: depth + 1)) }
                return .array(element, items)
            }
        }
    }

    /// Bytes of `count` elements of ggml type `type`, or nil for a type this reader does not handle.
    /// Values per block and bytes per block of the ggml types this reader takes (CKernels' ggml_blocks.c).
    public static func block(_ type: UInt32) -> (values: Int, bytes: Int)? {
        var bytes = 0
        let values = llm_ggml_block(type, &bytes)
        return values == 0 ? nil : (values, bytes)
    }

    /// The bytes of a tensor of `type`, nil when its rows are not whole blocks or the type is not read here.
    static func byteCount(type: UInt32, elements: Int, rowLength: Int) -> Int? {
        guard let (values, bytes) = block(type), rowLength % values == 0 else { return nil }
        return elements / values * bytes
    }

    /// Why a tensor of `type` with rows of `rowLength` values cannot be read, in one line.
    static func refusal(type: UInt32, rowLength: Int) -> String {
        if let (values, _) = block(type) {
            return "\(typeName(type)) rows of \(rowLength) values are not whole \(values)-value blocks"
        }
        if (31...33).contains(type) || (36...38).contains(type) {
            return "\(typeName(type)) is a repacked type that ggml has removed (re-quantize the model from its F16 or F32 GGUF)"
        }
        return "\(typeName(type)) is not a type this reader handles (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL and IQ4_XS are)"
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, owner: AnyObject, path: String) throws -> File {
        var c = Cursor(bytes: bytes, path: path)
        let m = try c.take(UInt32.self, "the magic number")
        guard m == magic else { throw c.fail("not a GGUF file (the first four bytes are not \"GGUF\")") }
        let version = try c.take(UInt32.self, "the version")
        guard version == 2 || version == 3 else { throw c.fail("GGUF version \(version) is not supported (2 and 3 are)") }
        let tensorCount = try c.take(UInt64.self, "the tensor count"), kvCount = try c.take(UInt64.self, "the metadata count")
        // A metadata entry takes at least 13 bytes and a tensor entry at least 24: larger counts are damage.
        guard kvCount <= UInt64(bytes.count) / 13, tensorCount <= UInt64(bytes.count) / 24 else {
            throw c.fail("counts of \(kvCount) metadata entries and \(tensorCount) tensors cannot fit in \(bytes.count) bytes")
        }
        var metadata: [String: Value] = [:]
        for i in 0..<Int(kvCount) {
            let key = try c.string("metadata key #\(i)")
            let raw = try c.take(UInt32.self, "the type of \(key)")
            guard let type = ValueType(rawValue: raw) else { throw c.fail("metadata \(key): unknown value type \(raw)") }
            metadata[key] = try c.value(type, "metadata \(key)")
        }
        var alignment = defaultAlignment
        if let a = metadata["general.alignment"] {
            guard let v = a.int, v > 0, v <= 1 << 20, v & (v - 1) == 0 else {
                throw c.fail("general.alignment must be a power of two, found \(a)")
            }
            alignment = v
        }
        var tensors: [TensorInfo] = []
        var names = Set<String>()
        for i in 0..<Int(tensorCount) {
            let name = try c.string("the name of tensor #\(i)")
            guard names.insert(name).inserted else { throw c.fail("tensor \(name) appears twice") }
            let rank = try c.take(UInt32.self, "the dimension count of \(name)")
            guard rank >= 1 && rank <= 4 else { throw c.fail("tensor \(name): \(rank) dimensions (1 to 4 are valid)") }
            var dims: [Int] = []
            var elements = 1
            for _ in 0..<rank {
                let d = try c.take(UInt64.self, "the dimensions of \(name)")
                guard d >= 1, d < 1 << 40 else { throw c.fail("tensor \(name): invalid dimension \(d)") }
                dims.append(Int(d))
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(d))
                guard !overflow, product < 1 << 40 else { throw c.fail("tensor \(name): \(dims) holds too many elements") }
                elements = product
            }
            let type = try c.take(UInt32.self, "the type of \(name)")
            let offset = try c.take(UInt64.self, "the offset of \(name)")
            guard let size = byteCount(type: type, elements: elements, rowLength: dims[0]) else {
                throw c.fail("tensor \(name): \(refusal(type: type, rowLength: dims[0]))")
            }
            guard offset % UInt64(alignment) == 0, offset < UInt64(bytes.count) else {
                throw c.fail("tensor \(name): offset \(offset) is not \(alignment)-byte aligned or lies past the end of the file")
            }
            tensors.append(TensorInfo(name: name, dimensions: dims, type: type, offset: Int(offset), byteCount: size))
        }
        let dataStart = (c.at + alignment - 1) / alignment * alignment
        for t in tensors where dataStart + t.offset + t.byteCount > bytes.count {
            throw c.fail("truncated: tensor \(t.name) (\(t.byteCount) bytes at \(dataStart + t.offset)) runs past the end of the \(bytes.count)-byte file")
        }
        let sorted = tensors.sorted { $0.offset < $1.offset }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.offset < a.offset + a.byteCount {
            throw c.fail("tensors \(a.name) and \(b.name) overlap")
        }
        return File(path: path, version: version, metadata: metadata, tensors: tensors, alignment: alignment, bytes: bytes,
                    dataStart: dataStart, owner: owner)
    }
}

// MARK: Writing

extension GGUF {
    /// A tensor to write: its name, dimensions (ne[0] first), ggml type and bytes.
    public struct OutputTensor {
        public let name: String
        public let dimensions: [Int]
        public let type: UInt32
        public let bytes: UnsafeRawBufferPointer
        let owner: AnyObject?

        public init(name: String, dimensions: [Int], type: UInt32, bytes: UnsafeRawBufferPointer, owner: AnyObject?) {
            self.name = name
            self.dimensions = dimensions
            self.type = type
            self.bytes = bytes
            self.owner = owner
        }
    }

    /// Writes a GGUF v3 file: `metadata` in the given order, then the tensors (each aligned to 32 bytes).
    /// The file appears under `path` only once complete.
    public static func write(metadata: [(String, Value)], tensors: [OutputTensor], to path: String,
                             progress: (Int, Int) -> Void = { _, _ in }) throws {
        var header = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
        func string(_ s: String) { let b = Array(s.utf8); u64(UInt64(b.count)); header.append(contentsOf: b) }
        func type(of v: Value) -> ValueType {
            switch v {
            case .u8: .u8
            case .i8: .i8
            case .u16: .u16
            case .i16: .i16
            case .u32: .u32
            case .i32: .i32
            case .f32: .f32
            case .bool: .bool
            case .string: .string
            case .array: .array
            case .u64: .u64
            case .i64: .i64
            case .f64: .f64
            }
        }
        func value(_ v: Value) {
            switch v {
            case let .u8(x): header.append(x)
            case let .i8(x): header.append(UInt8(bitPattern: x))
            case let .u16(x): withUnsafeBytes(of: x.littleEndian) { header.append(contentsOf: $0) }
            case let .i16(x): withUnsafeBytes(of: x.littleEndian) { header.append(contentsOf: $0) }
            case let .u32(x): u32(x)
            case let .i32(x): u32(UInt32(bitPattern: x))
            case let .f32(x): u32(x.bitPattern)
            case let .bool(x): header.append(x ? 1 : 0)
            case let .string(s): string(s)
            case let .array(t, items): u32(t.rawValue); u64(UInt64(items.count)); items.forEach(value)
            case let .u64(x): u64(x)
            case let .i64(x): u64(UInt64(bitPattern: x))
            case let .f64(x): u64(x.bitPattern)
            }
        }
        u32(magic); u32(version); u64(UInt64(tensors.count)); u64(UInt64(metadata.count))
        for (key, v) in metadata { string(key); u32(type(of: v).rawValue); value(v) }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            string(t.name)
            u32(UInt32(t.dimensions.count))
            t.dimensions.forEach { u64(UInt64($0)) }
            u32(t.type)
            u64(UInt64(offset))
            offsets.append(offset)
            offset = (offset + t.bytes.count + defaultAlignment - 1) / defaultAlignment * defaultAlignment
        }
        while header.count % defaultAlignment != 0 { header.append(0) }

        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial-\(getpid())")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw GGUFError(description: "\(path): cannot create a file in \(url.deletingLastPathComponent().path)")
        }
        var done = false
        defer { if !done { try? FileManager.default.removeItem(at: temporary) } }
        let handle = try FileHandle(forWritingTo: temporary)
        do {
            try handle.write(contentsOf: header)
            var written = 0
            let zeros = Data(count: defaultAlignment)
            for (i, t) in tensors.enumerated() {
                precondition(written == offsets[i])
                // 64 MB at a time: Data(bytesNoCopy:) would be simpler but cannot promise not to copy.
                var at = 0
                while at < t.bytes.count {
                    let n = min(64 << 20, t.bytes.count - at)
                    try handle.write(contentsOf: Data(bytes: t.bytes.baseAddress! + at, count: n))
                    at += n
                }
                written += t.bytes.count
                let pad = (defaultAlignment - written % defaultAlignment) % defaultAlignment
                if pad > 0 && i < tensors.count - 1 { try handle.write(contentsOf: zeros.prefix(pad)); written += pad }
                progress(i + 1, tensors.count)
            }
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            throw GGUFError(description: "\(path): writing failed (\(error.localizedDescription))")
        }
        guard rename(temporary.path, path) == 0 else {
            throw GGUFError(description: "\(path): cannot move the finished file into place (\(String(cString: strerror(errno))))")
        }
        done = true
    }
}
