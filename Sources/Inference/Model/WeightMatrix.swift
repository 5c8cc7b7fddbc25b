// A weight matrix for inference, stored in 32, 16 or 8 bits, and its product with activations.
//
// Training keeps fp32 `Tensor`s; generating reads every weight once per token, so there the bytes per
// weight set the speed (DESIGN.md). A WeightMatrix is the inference-side view of a Linear or an
// embedding:
//   .f32 borrowed from a Linear, (in, out) as GPT-2 stores Conv1D weights: y = x W through the GEMM's
//        few-rows path, no copy of the model;
//   any type (n, k) — output by input, as GGUF stores it — through llm_weight_matmul (weights.c):
//        f32, f16, bf16, or q8_0 (ggml's blocks of 32 int8 values with an fp16 scale).
// The bytes live in memory we own, in a mapped file, or in a borrowed Tensor; `owner` keeps them alive.

import CKernels
import Foundation
import Models
import Tensors

/// How weights are stored. Raw values are ggml's type ids (GGUF uses them too).
public enum WeightType: String, CaseIterable, Sendable {
    case f32, f16, bf16, q8_0

    public var ggmlType: UInt32 {
        switch self {
        case .f32: 0
        case .f16: 1
        case .q8_0: 8
        case .bf16: 30
        }
    }

    public init?(ggmlType: UInt32) {
        guard let t = WeightType.allCases.first(where: { $0.ggmlType == ggmlType }) else { return nil }
        self = t
    }

    var c: llm_weight_type { llm_weight_type(rawValue: ggmlType) }

    /// Bytes of a row of `k` values, nil when `k` does not fit the type (q8_0 needs a multiple of 32).
    public func rowBytes(_ k: Int) -> Int? {
        let b = llm_weight_row_bytes(c, k)
        return b < 0 ? nil : b
    }

    /// Bits per weight, for reports (q8_0: 34 bytes per 32 weights).
    public var bitsPerWeight: Double { self == .q8_0 ? 8.5 : self == .f32 ? 32 : 16 }
}

public final class WeightMatrix: @unchecked Sendable { // immutable after init
    public enum Layout: Sendable {
        /// (n, k): n output rows of k inputs, in `type`.
        case outputsByInputs
        /// (k, n) fp32: GPT-2's Conv1D layout (our Linear's).
        case inputsByOutputs
    }

    public let type: WeightType
    public let layout: Layout
    /// Output features n and input features k.
    public let outputs: Int, inputs: Int
    /// The first byte, for writers (GGUF) that copy the weights out as they are.
    public let base: UnsafeRawPointer
    let owner: AnyObject?

    init(type: WeightType, layout: Layout, outputs: Int, inputs: Int, base: UnsafeRawPointer, owner: AnyObject?) {
        self.type = type
        self.layout = layout
        self.outputs = outputs
        self.inputs = inputs
        self.base = base
        self.owner = owner
    }

    /// Borrows a Linear-layout (in, out) fp32 tensor: no copy.
    public convenience init(borrowingInputsByOutputs t: Tensor) {
        precondition(t.rank == 2)
        let p = t.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) } // storage is a stable heap block owned by t
        self.init(type: .f32, layout: .inputsByOutputs, outputs: t.shape[1], inputs: t.shape[0], base: p, owner: t)
    }

    /// Borrows an (n, k) fp32 tensor (an embedding table as the output head): no copy.
    public convenience init(borrowingOutputsByInputs t: Tensor) {
        precondition(t.rank == 2)
        let p = t.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) }
        self.init(type: .f32, layout: .outputsByInputs, outputs: t.shape[0], inputs: t.shape[1], base: p, owner: t)
    }

    /// Converts fp32 values laid out (n, k) to `type`.
    public convenience init(quantizing values: UnsafeBufferPointer<Float>, outputs n: Int, inputs k: Int, to type: WeightType) throws {
        precondition(values.count == n * k)
        guard let rowBytes = type.rowBytes(k) else {
            throw GPTError(description: "\(type.rawValue) needs rows of a multiple of 32 values; this matrix has rows of \(k)")
        }
        let storage = RawStorage(byteCount: rowBytes * n)
        // Rows in parallel chunks: quantizing gpt2-xl's 1.5 B weights serially takes seconds.
        let chunks = max(1, min(n, 64))
        let per = (n + chunks - 1) / chunks
        let source = UInt(bitPattern: values.baseAddress!), target = UInt(bitPattern: storage.pointer) // addresses cross threads
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let r0 = c * per, r1 = min(n, r0 + per)
            guard r0 < r1 else { return }
            llm_weight_quantize(type.c, UnsafePointer<Float>(bitPattern: source)! + r0 * k,
                                UnsafeMutableRawPointer(bitPattern: target)! + r0 * rowBytes, r1 - r0, k)
        }
        self.init(type: type, layout: .outputsByInputs, outputs: n, inputs: k, base: UnsafeRawPointer(storage.pointer), owner: storage)
    }

    /// Wraps stored bytes of `type`, (n, k), owned by `owner` (a mapped file).
    public convenience init(stored base: UnsafeRawPointer, type: WeightType, outputs n: Int, inputs k: Int, owner: AnyObject) {
        self.init(type: type, layout: .outputsByInputs, outputs: n, inputs: k, base: base, owner: owner)
    }

    /// Matrices of one type and input width as one, their output rows one after another (Llama's q, k and v
    /// projections as one qkv matrix, so one product computes all three). A copy.
    public static func stacked(_ parts: [WeightMatrix]) throws -> WeightMatrix {
        guard let first = parts.first,
              parts.allSatisfy({ $0.type == first.type && $0.inputs == first.inputs && $0.layout == .outputsByInputs }) else {
            throw GPTError(description: "only (n, k) matrices of one type and input width stack")
        }
        let storage = RawStorage(byteCount: parts.reduce(0) { $0 + $1.byteCount })
        var offset = 0
        for p in parts {
            (storage.pointer + offset).copyMemory(from: p.base, byteCount: p.byteCount)
            offset += p.byteCount
        }
        return WeightMatrix(type: first.type, layout: .outputsByInputs, outputs: parts.reduce(0) { $0 + $1.outputs },
                            inputs: first.inputs, base: UnsafeRawPointer(storage.pointer), owner: storage)
    }

    /// Rows `range` of an (n, k) matrix, sharing its bytes (the inverse of `stacked`).
    public func rows(_ range: Range<Int>) -> WeightMatrix {
        precondition(layout == .outputsByInputs && range.lowerBound >= 0 && range.upperBound <= outputs)
        return WeightMatrix(type: type, layout: .outputsByInputs, outputs: range.count, inputs: inputs,
                            base: base + range.lowerBound * type.rowBytes(inputs)!, owner: self)
    }

    /// The same weights in `type`, laid out (n, k) (a Linear-layout matrix is transposed first).
    public func converted(to newType: WeightType) throws -> WeightMatrix {
        if newType == type && layout == .outputsByInputs { return self }
        let values = dequantized()
        return try values.withUnsafeBufferPointer { try WeightMatrix(quantizing: $0, outputs: outputs, inputs: inputs, to: newType) }
    }

    /// All the weights as fp32, laid out (n, k).
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: outputs * inputs)
        out.withUnsafeMutableBufferPointer { o in
            switch layout {
            case .outputsByInputs:
                llm_weight_dequantize(type.c, base, o.baseAddress!, outputs, inputs)
            case .inputsByOutputs:
                let w = base.assumingMemoryBound(to: Float.self)
                for i in 0..<inputs { for j in 0..<outputs { o[j * inputs + i] = w[i * outputs + j] } }
            }
        }
        return out
    }

    /// Row `r` of an (n, k) matrix as fp32 into `out` (k values): an embedding lookup.
    func row(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(layout == .outputsByInputs && r >= 0 && r < outputs)
        llm_weight_dequantize(type.c, base + r * type.rowBytes(inputs)!, out, 1, inputs)
    }

    /// Bytes of the stored weights.
    public var byteCount: Int { (type.rowBytes(inputs) ?? 0) * outputs }

    /// y (m, n) = x (m, k) · W (+ bias). Each row's result is independent of the other rows for
    /// m <= LLM_ROW_KERNEL_MAX_M (batch-invariant decoding).
    func apply(_ x: UnsafePointer<Float>, rows m: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>) {
        switch layout {
        case .outputsByInputs:
            llm_weight_matmul(type.c, x, m, inputs, base, outputs, bias, y)
        case .inputsByOutputs:
            // The GEMM's few-rows path (m <= 8) sums each output over k in order, whatever m; above 8 rows it
            // switches to the packed kernels. Up to the row-kernel limit, go 8 rows at a time so a row's
            // result never depends on how many others share the call.
            let w = base.assumingMemoryBound(to: Float.self)
            let step = m <= Int(LLM_ROW_KERNEL_MAX_M) ? 8 : m
            var r = 0
            while r < m {
                let count = min(step, m - r)
                let yr = y + r * outputs
                if let bias {
                    for i in 0..<count { (yr + i * outputs).update(from: bias, count: outputs) }
                }
                llm_sgemm(0, 0, count, outputs, inputs, 1, x + r * inputs, inputs, w, outputs, bias == nil ? 0 : 1, yr, outputs)
                r += count
            }
        }
    }
}

/// 64-byte aligned bytes we own.
public final class RawStorage: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let byteCount: Int
    public init(byteCount: Int) {
        self.byteCount = byteCount
        pointer = .allocate(byteCount: max(byteCount, 1), alignment: 64)
    }
    deinit { pointer.deallocate() }
}

/// The kernel family the low-precision products use on this CPU now ("avx2", "avx512-vnni", "portable").
public var weightKernelName: String { String(cString: llm_weight_kernel_name()) }
