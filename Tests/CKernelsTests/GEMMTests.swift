// GEMM against a naive triple loop (in Double) on awkward shapes: 1x1x1, primes, sizes that are not
// multiples of any tile, every transpose combination, alpha/beta, padded leading dimensions, one and
// several threads, and every instruction set this CPU can run.

import CKernels
import Testing
import Tensors

struct GEMMShape: CustomTestStringConvertible, Sendable {
    let m, n, k: Int
    var testDescription: String { "\(m)x\(n)x\(k)" }
}

@Suite("GEMM", .serialized)
struct GEMMTests {
    static let shapes: [GEMMShape] = [
        (1, 1, 1), (7, 13, 5), (13, 7, 17), (5, 1, 9), (1, 37, 3), (6, 16, 256), (8, 32, 257),
        (31, 47, 29), (97, 101, 103), (145, 33, 300), (300, 200, 513), (2, 3100, 7), (1, 768, 2304), (4, 50, 300), (8, 33, 17),
    ].map { GEMMShape(m: $0.0, n: $0.1, k: $0.2) }

    static func naive(_ ta: Bool, _ tb: Bool, _ s: GEMMShape, _ alpha: Float, _ a: [Float], _ lda: Int,
                      _ b: [Float], _ ldb: Int, _ beta: Float, _ c: [Float], _ ldc: Int) -> [Double] {
        var out = c.map(Double.init)
        for i in 0..<s.m {
            for j in 0..<s.n {
                var acc = 0.0
                for p in 0..<s.k {
                    let x = ta ? a[p * lda + i] : a[i * lda + p]
                    let y = tb ? b[j * ldb + p] : b[p * ldb + j]
                    acc += Double(x) * Double(y)
                }
                out[i * ldc + j] = Double(alpha) * acc + (beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j]))
            }
        }
        return out
    }

    @Test("matches the naive product", arguments: shapes)
    func matchesNaive(_ s: GEMMShape) {
        var rng = SeededGenerator(seed: UInt64(s.m * 1_000_000 + s.n * 1000 + s.k))
        let savedISA = GEMMInstructionSet.current, savedThreads = Threads.count
        defer { GEMMInstructionSet.current = savedISA; Threads.count = savedThreads }
        for isa in GEMMInstructionSet.allCases where isa.rawValue <= GEMMInstructionSet.best.rawValue {
            GEMMInstructionSet.current = isa
            for threads in [1, 3] {
                Threads.count = threads
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    for (alpha, beta) in [(Float(1), Float(0)), (Float(-0.5), Float(1.5))] {
                        let pad = 3 // leading dimensions larger than the logical width
                        let lda = (ta ? s.m : s.k) + pad, ldb = (tb ? s.k : s.n) + pad, ldc = s.n + pad
                        let a = (0..<((ta ? s.k : s.m) * lda)).map { _ in rng.nextUniform() * 2 - 1 }
                        let b = (0..<((tb ? s.n : s.k) * ldb)).map { _ in rng.nextUniform() * 2 - 1 }
                        // beta == 0 must not read C: fill it with NaN to prove it.
                        var c = (0..<(s.m * ldc)).map { _ in beta == 0 ? Float.nan : rng.nextUniform() }
                        let expected = Self.naive(ta, tb, s, alpha, a, lda, b, ldb, beta, c, ldc)
                        llm_sgemm(ta ? 1 : 0, tb ? 1 : 0, s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, &c, ldc)
                        var worst = 0.0
                        for i in 0..<s.m {
                            for j in 0..<s.n { worst = Swift.max(worst, abs(Double(c[i * ldc + j]) - expected[i * ldc + j])) }
                        }
                        // Float32 sums of k products of values below 1: error grows like sqrt(k) * 2^-24.
                        #expect(worst < 1e-5 * Double(s.k).squareRoot() + 1e-6,
                                "\(isa) threads=\(threads) transA=\(ta) transB=\(tb) alpha=\(alpha) beta=\(beta): max error \(worst)")
                        // Padding columns of C are never written.
                        if s.m > 0 { #expect(c[s.n].isNaN == (beta == 0) || beta != 0) }
                    }
                }
            }
        }
    }

    @Test("empty K gives beta * C")
    func emptyK() {
        var c: [Float] = [1, 2, 3, 4]
        llm_sgemm(0, 0, 2, 2, 0, 1, [], 1, [], 2, 0.5, &c, 2)
        #expect(c == [0.5, 1, 1.5, 2])
    }
}
