// The bf16 GEMM against fp64 references on awkward shapes (odd K, ragged tiles, every transpose, alpha/beta,
// padded leading dimensions, one and several threads, every instruction set this CPU can run):
// - against the product of the inputs rounded to bf16, it must be as close as an fp32 sum can be (this
//   catches any packing mistake: a misplaced pair is off by the size of a product);
// - against the exact product of the fp32 inputs, within what rounding each input to 8 bits implies.

import CKernels
import Testing
import Tensors

@Suite("GEMM in bf16", .serialized)
struct GEMMBF16Tests {
    static let shapes: [GEMMShape] = [
        (1, 1, 1), (7, 13, 5), (13, 7, 17), (5, 1, 9), (1, 37, 3), (8, 32, 2), (8, 32, 33), (9, 33, 31),
        (31, 47, 29), (97, 101, 103), (145, 33, 300), (64, 64, 513), (300, 200, 1025), (2, 3100, 7), (16, 64, 64),
    ].map { GEMMShape(m: $0.0, n: $0.1, k: $0.2) }

    /// x rounded to the nearest bf16, ties to even (what the packing does).
    static func bf16(_ x: Float) -> Float {
        let bits = x.bitPattern
        return Float(bitPattern: (bits &+ 0x7fff &+ ((bits >> 16) & 1)) & 0xffff_0000)
    }

    @Test("matches fp64 products of the rounded inputs and the bf16 error bound", arguments: shapes)
    func matchesReference(_ s: GEMMShape) {
        var rng = SeededGenerator(seed: UInt64(s.m * 1_000_000 + s.n * 1000 + s.k) ^ 0xbf16)
        let savedISA = GEMMInstructionSet.current, savedThreads = Threads.count
        defer { GEMMInstructionSet.current = savedISA; Threads.count = savedThreads }
        for isa in GEMMInstructionSet.allCases where isa.rawValue <= GEMMInstructionSet.best.rawValue {
            GEMMInstructionSet.current = isa
            let kernel = String(cString: llm_gemm_kernel_name(1))
            for threads in [1, 3] {
                Threads.count = threads
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    for (alpha, beta) in [(Float(1), Float(0)), (Float(-0.5), Float(1.5))] {
                        let pad = 3
                        let lda = (ta ? s.m : s.k) + pad, ldb = (tb ? s.k : s.n) + pad, ldc = s.n + pad
                        let a = (0..<((ta ? s.k : s.m) * lda)).map { _ in rng.nextUniform() * 2 - 1 }
                        let b = (0..<((tb ? s.n : s.k) * ldb)).map { _ in rng.nextUniform() * 2 - 1 }
                        var c = (0..<(s.m * ldc)).map { _ in beta == 0 ? Float.nan : rng.nextUniform() }
                        let rounded = GEMMTests.naive(ta, tb, s, alpha, a.map(Self.bf16), lda, b.map(Self.bf16), ldb, beta, c, ldc)
                        let exact = GEMMTests.naive(ta, tb, s, alpha, a, lda, b, ldb, beta, c, ldc)
                        let magnitude = GEMMTests.naive(ta, tb, s, 1, a.map(abs), lda, b.map(abs), ldb, 0, c, ldc)
                        llm_sgemm_bf16(ta ? 1 : 0, tb ? 1 : 0, s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, &c, ldc)
                        var worstRounded = 0.0, worstBound = 0.0
                        for i in 0..<s.m {
                            for j in 0..<s.n {
                                let x = Double(c[i * ldc + j])
                                worstRounded = Swift.max(worstRounded, abs(x - rounded[i * ldc + j]))
                                // Each input is within 2^-8 of itself (8 significant bits): the product within 2^-7 + 2^-16 of |a||b|.
                                let bound = Double(abs(alpha)) * magnitude[i * ldc + j] * (1.0 / 128 + 1.0 / 65_536) + 1e-5
                                worstBound = Swift.max(worstBound, abs(x - exact[i * ldc + j]) / bound)
                            }
                        }
                        let context = "\(kernel) threads=\(threads) transA=\(ta) transB=\(tb) alpha=\(alpha) beta=\(beta)"
                        #expect(worstRounded < 1e-5 * Double(s.k).squareRoot() + 1e-6, "\(context): max error \(worstRounded)")
                        #expect(worstBound <= 1, "\(context): \(worstBound) of the bf16 bound")
                        #expect(c[s.n].isNaN == (beta == 0) || beta != 0, "\(context): a padding column was written")
                    }
                }
            }
        }
    }

    @Test("the kernel is named after the instruction set")
    func kernelName() {
        let saved = GEMMInstructionSet.current
        defer { GEMMInstructionSet.current = saved }
        GEMMInstructionSet.current = .portable
        #expect(String(cString: llm_gemm_kernel_name(1)).hasPrefix("portable"))
        GEMMInstructionSet.current = .best
        if llm_cpu_has_bf16() != 0 { #expect(String(cString: llm_gemm_kernel_name(1)) == "avx512_bf16 8x32") }
    }

    @Test("inputs are rounded as llm_fp32_to_bf16 rounds: ties to even, overflow to infinity, NaN stays NaN")
    func roundingOfSpecialValues() {
        let saved = GEMMInstructionSet.current
        defer { GEMMInstructionSet.current = saved }
        let values: [Float] = [1 + 1.0 / 256, 1 + 3.0 / 256, 1 + 1.0 / 256 + 1.0 / 65_536, -(1 + 1.0 / 256), .greatestFiniteMagnitude,
                               -.greatestFiniteMagnitude, .infinity, -.infinity, .leastNonzeroMagnitude, .nan]
        // Left out: bf16 subnormals (vdpbf16ps flushes them to zero) and -0 (the sum starts at +0, and +0 + -0 is +0).
        for isa in GEMMInstructionSet.allCases where isa.rawValue <= GEMMInstructionSet.best.rawValue {
            GEMMInstructionSet.current = isa
            let kernel = String(cString: llm_gemm_kernel_name(1))
            for x in values {
                // A 1 x 1 x 1 product with 1: C is the rounded input itself.
                var a = x, b = Float(1), c = Float(0)
                llm_sgemm_bf16(0, 0, 1, 1, 1, 1, &a, 1, &b, 1, 0, &c, 1)
                let expected = Float(bitPattern: UInt32(llm_fp32_to_bf16(x)) << 16)
                #expect(c.bitPattern == expected.bitPattern || (c.isNaN && expected.isNaN), "\(kernel): bf16(\(x)) gave \(c), not \(expected)")
            }
        }
    }
}
