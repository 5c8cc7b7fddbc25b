// The low-precision weight kernels (weights.c) against a plain reference: dequantize W to fp32, then
// a Double-precision product, on awkward shapes (k not a multiple of 8, n not a multiple of 4 or 16,
// one row to many), for every type and every kernel family this CPU runs (LLM_GEMM_ISA levels).
// Also: the 16-bit conversions against Swift's Float16 and by hand, ggml's q8_0 rounding, and batch
// invariance of the few-rows path (a row's result is bit-identical whatever the other rows).

import CKernels
import Foundation
import Testing
import Tensors

private let types: [llm_weight_type] = [LLM_WEIGHT_F32, LLM_WEIGHT_F16, LLM_WEIGHT_BF16, LLM_WEIGHT_Q8_0]

private func typeName(_ t: llm_weight_type) -> String {
    switch t {
    case LLM_WEIGHT_F16: "f16"
    case LLM_WEIGHT_BF16: "bf16"
    case LLM_WEIGHT_Q8_0: "q8_0"
    default: "f32"
    }
}

/// Quantized bytes of random (n, k) weights.
private func randomWeights(_ t: llm_weight_type, n: Int, k: Int, seed: UInt64) -> [UInt8] {
    var g = SeededGenerator(seed: seed)
    let w = (0..<(n * k)).map { _ in g.nextUniform() * 2 - 1 }
    var bytes = [UInt8](repeating: 0, count: llm_weight_row_bytes(t, k) * n)
    w.withUnsafeBufferPointer { llm_weight_quantize(t, $0.baseAddress!, &bytes, n, k) }
    return bytes
}

private func dequantized(_ t: llm_weight_type, _ bytes: [UInt8], n: Int, k: Int) -> [Float] {
    var out = [Float](repeating: 0, count: n * k)
    llm_weight_dequantize(t, bytes, &out, n, k)
    return out
}

private func matmul(_ t: llm_weight_type, _ x: [Float], m: Int, k: Int, _ w: [UInt8], n: Int, bias: [Float]?) -> [Float] {
    var y = [Float](repeating: .nan, count: m * n)
    if let bias {
        bias.withUnsafeBufferPointer { llm_weight_matmul(t, x, m, k, w, n, $0.baseAddress!, &y) }
    } else {
        llm_weight_matmul(t, x, m, k, w, n, nil, &y)
    }
    return y
}

private func isaLevels() -> [llm_isa] {
    let best = llm_cpu_best_isa()
    return [LLM_ISA_PORTABLE, LLM_ISA_AVX2, LLM_ISA_AVX512].filter { $0.rawValue <= best.rawValue }
}

@Suite("Low-precision weights", .serialized)
struct WeightKernelTests {
    @Test("every type, shape and kernel family matches dequantize-then-fp32")
    func matchesReference() {
        let shapes = [(1, 5, 32), (1, 37, 64), (3, 13, 96), (8, 64, 256), (16, 33, 160), (17, 70, 64), (40, 300, 128), (2, 2304, 768)]
        let odd = [(1, 7, 13), (5, 19, 41), (20, 9, 23)] // k not a multiple of 32: every type but q8_0
        defer { _ = llm_gemm_set_isa(llm_cpu_best_isa()) }
        for isa in isaLevels() {
            _ = llm_gemm_set_isa(isa)
            let kernel = String(cString: llm_weight_kernel_name())
            for t in types {
                for (m, n, k) in shapes + (t == LLM_WEIGHT_Q8_0 ? [] : odd) {
                    let w = randomWeights(t, n: n, k: k, seed: UInt64(n * k))
                    let wf = dequantized(t, w, n: n, k: k)
                    var g = SeededGenerator(seed: UInt64(m + 7))
                    let x = (0..<(m * k)).map { _ in g.nextUniform() * 2 - 1 }
                    let bias = (0..<n).map { Float($0) * 0.01 }
                    let y = matmul(t, x, m: m, k: k, w, n: n, bias: bias)
                    var worst = 0.0
                    for i in 0..<m {
                        // q8_0 also rounds the activations to 8 bits: error up to k * |w| * |x|/254 per product.
                        let tolerance = t == LLM_WEIGHT_Q8_0 ? 0.02 * Double(k).squareRoot() : 1e-4 * Double(k).squareRoot()
                        for j in 0..<n {
                            var s = Double(bias[j])
                            for p in 0..<k { s += Double(x[i * k + p]) * Double(wf[j * k + p]) }
                            worst = max(worst, abs(s - Double(y[i * n + j])) / tolerance)
                        }
                    }
                    #expect(worst <= 1, "\(typeName(t)) \(kernel) m=\(m) n=\(n) k=\(k): error \(worst) of the tolerance")
                }
            }
        }
    }

    @Test("a row's result does not depend on the other rows, nor on the thread count, on every kernel family")
    func batchInvariance() {
        // Every row count up to the row-kernel limit: one row, the 8-output groups, the tiles of 3 and 2 rows
        // and their leftovers; k = 260 also has a tail past the last 8 (not for q8_0, whose blocks are 32).
        defer { _ = llm_gemm_set_isa(llm_cpu_best_isa()) }
        for isa in isaLevels() {
            _ = llm_gemm_set_isa(isa)
            let kernel = String(cString: llm_weight_kernel_name())
            for t in types {
                let (n, k) = (300, t == LLM_WEIGHT_Q8_0 ? 256 : 260)
                let w = randomWeights(t, n: n, k: k, seed: 9)
                var g = SeededGenerator(seed: 10)
                let x = (0..<(16 * k)).map { _ in g.nextUniform() * 2 - 1 }
                let all = matmul(t, x, m: 16, k: k, w, n: n, bias: nil)
                for m in 1..<16 {
                    let some = matmul(t, Array(x.prefix(m * k)), m: m, k: k, w, n: n, bias: nil)
                    #expect(some == Array(all.prefix(m * n)), "\(typeName(t)) \(kernel) with \(m) rows")
                    let last = matmul(t, Array(x[((m - 1) * k)..<(m * k)]), m: 1, k: k, w, n: n, bias: nil)
                    #expect(last == Array(all[((m - 1) * n)..<(m * n)]), "\(typeName(t)) \(kernel) row \(m - 1) alone")
                }
                let threads = llm_num_threads()
                llm_set_num_threads(1)
                let serial = matmul(t, x, m: 16, k: k, w, n: n, bias: nil)
                llm_set_num_threads(threads)
                #expect(serial == all, "\(typeName(t)) \(kernel) on one thread")
            }
        }
    }

    @Test("fp16 conversion is exact one way and rounds to nearest even the other")
    func halfConversion() {
        for bits in 0...UInt16.max {
            let ours = llm_fp16_to_fp32(bits), swift = Float(Float16(bitPattern: bits))
            #expect(ours.bitPattern == swift.bitPattern || (ours.isNaN && swift.isNaN))
            if !ours.isNaN {
                #expect(llm_fp32_to_fp16(ours) == bits, "round trip of \(bits)")
            }
        }
        var g = SeededGenerator(seed: 3)
        for _ in 0..<200_000 {
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: g.next()))
            guard !f.isNaN else { continue }
            #expect(llm_fp32_to_fp16(f) == Float16(f).bitPattern, "\(f)")
        }
        #expect(llm_fp32_to_fp16(65520) == 0x7c00 && llm_fp32_to_fp16(65519) == 0x7bff)
        #expect(llm_fp32_to_fp16(Float(bitPattern: 0x3300_0000)) == 0) // 2^-25 ties to even: zero
    }

    @Test("bf16 rounds to nearest even")
    func bf16Rounding() {
        #expect(llm_fp32_to_bf16(Float(bitPattern: 0x3f80_8000)) == 0x3f80) // tie, even below
        #expect(llm_fp32_to_bf16(Float(bitPattern: 0x3f81_8000)) == 0x3f82) // tie, even above
        #expect(llm_fp32_to_bf16(Float(bitPattern: 0x3f80_8001)) == 0x3f81)
        #expect(llm_fp32_to_bf16(1.0) == 0x3f80 && llm_fp32_to_bf16(-2.0) == 0xc000)
        #expect(llm_fp32_to_bf16(.nan) & 0x7fc0 == 0x7fc0)
    }

    @Test("q8_0 blocks follow ggml: d = max|x| / 127, halves rounded away from zero")
    func q8Blocks() {
        var x = [Float](repeating: 0, count: 64)
        for i in 0..<32 { x[i] = Float(i - 16) / 16 } // max |x| = 1: d = 1/127
        x[32] = 0 // a block of zeros: d = 0, quants 0
        var bytes = [UInt8](repeating: 0xff, count: 68)
        llm_weight_quantize(LLM_WEIGHT_Q8_0, x, &bytes, 1, 64)
        let d = llm_fp16_to_fp32(UInt16(bytes[0]) | UInt16(bytes[1]) << 8)
        #expect(d == llm_fp16_to_fp32(llm_fp32_to_fp16(1 / 127)))
        let quants = bytes[2..<34].map { Int8(bitPattern: $0) }
        #expect(quants[0] == -127 && quants[16] == 0 && quants[31] == 119)
        #expect(bytes[34..<68].allSatisfy { $0 == 0 })
    }

    @Test("q8_0 blocks are bit-identical to ggml's reference quantizer (the gguf package)")
    func q8MatchesGGML() throws {
        struct Golden: Decodable { let source: [Float]; let rows: Int; let cols: Int; let bytes: [UInt8]; let dequantized: [Float] }
        let url = Bundle.module.url(forResource: "q8_0-blocks", withExtension: "json")!
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
        var bytes = [UInt8](repeating: 0, count: golden.bytes.count)
        llm_weight_quantize(LLM_WEIGHT_Q8_0, golden.source, &bytes, golden.rows, golden.cols)
        #expect(bytes == golden.bytes)
        #expect(dequantized(LLM_WEIGHT_Q8_0, bytes, n: golden.rows, k: golden.cols) == golden.dequantized)
    }
}
