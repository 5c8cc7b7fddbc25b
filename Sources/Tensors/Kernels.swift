// Raw kernels for callers that manage their own buffers (benchmarks, optimizers, the GPT's hot
// paths): the GEMM and the choice of its instruction set, and the AdamW step. Tensor ops call the
// same functions.

import CKernels

public enum Kernels {
    /// C = alpha * op(A) op(B) + beta * C on row-major buffers; op(A) is M x K, op(B) is K x N, and
    /// lda/ldb/ldc are the row strides as stored. With beta == 0, C is only written.
    @inline(__always)
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        llm_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// One AdamW step in place over `count` parameters, their gradients and both moments, in PyTorch's
    /// order of operations; `correction1/2` are the bias corrections 1 - beta^step (see `llm_adamw_update`).
    @inline(__always)
    public static func adamWUpdate(_ w: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>,
                                   m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, count: Int,
                                   learningRate: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float,
                                   correction1: Float, correction2: Float) {
        llm_adamw_update(w, gradient, m, v, count, learningRate, beta1, beta2, eps, weightDecay, correction1, correction2)
    }
}

/// The instruction set GEMM uses; see `llm_gemm_isa`.
public enum GEMMInstructionSet: Int, CaseIterable, Sendable {
    case portable = 0, avx2 = 1, avx512 = 2

    /// The best set this CPU supports.
    public static var best: GEMMInstructionSet { GEMMInstructionSet(rawValue: Int(llm_cpu_best_isa().rawValue))! }

    /// The set in use now; setting it is clamped to what the CPU supports.
    public static var current: GEMMInstructionSet {
        get { GEMMInstructionSet(rawValue: Int(llm_gemm_isa().rawValue))! }
        set { _ = llm_gemm_set_isa(llm_isa(rawValue: UInt32(newValue.rawValue))) }
    }
}
