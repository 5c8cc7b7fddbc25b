// The inner product behind the HNSW graph (CKernels/hnsw.c) against a float64 sum, on every length from 0 to 70
// (the SIMD bodies, their masked or scalar tails) and on every instruction set this CPU has.

import CKernels
import Tensors
import Testing

@Suite("HNSW inner product", .serialized)
struct HNSWDotTests {
    @Test("equals the float64 sum within float rounding, every length, every ISA")
    func dot() {
        defer { _ = llm_gemm_set_isa(llm_cpu_best_isa()) }
        var g = SeededGenerator(seed: 11)
        let a = (0..<70).map { _ in Float.random(in: -1...1, using: &g) }, b = (0..<70).map { _ in Float.random(in: -1...1, using: &g) }
        for isa in [LLM_ISA_PORTABLE, LLM_ISA_AVX2, LLM_ISA_AVX512] where isa.rawValue <= llm_cpu_best_isa().rawValue {
            #expect(llm_gemm_set_isa(isa) == isa)
            for n in 0...70 {
                let exact = (0..<n).reduce(0.0) { $0 + Double(a[$1]) * Double(b[$1]) }
                let bound = (0..<n).reduce(0.0) { $0 + abs(Double(a[$1]) * Double(b[$1])) } * Double(n + 1) * 6e-8
                #expect(abs(Double(llm_hnsw_dot(a, b, n)) - exact) <= bound + 1e-12, "\(isa) n=\(n)")
            }
        }
    }
}
