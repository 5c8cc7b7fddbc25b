// Calls the package's GEMM on tensors' buffers (raw, without autograd) for the GEMM benchmark.

import Tensors

enum BenchGEMM {
    static func run(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: Tensor, _ lda: Int,
                    _ b: Tensor, _ ldb: Int, _ c: Tensor, _ ldc: Int, _ precision: MatmulPrecision = .fp32) {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    Kernels.sgemm(transA: ta, transB: tb, m: m, n: n, k: k, a: pa.baseAddress!, lda: lda,
                                  b: pb.baseAddress!, ldb: ldb, c: pc.baseAddress!, ldc: ldc, precision: precision)
                }
            }
        }
    }
}
