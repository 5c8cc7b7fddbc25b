// Raw kernels for callers that manage their own buffers (benchmarks, optimizers, the GPT's hot
// paths): the GEMM, the choice of its instruction set and of its number format, and the AdamW step.
// Tensor ops call the same functions.

import CKernels

public enum Kernels {
    /// C = alpha * op(A) op(B) + beta * C on row-major buffers; op(A) is M x K, op(B) is K x N, and
    /// lda/ldb/ldc are the row strides as stored. With beta == 0, C is only written.
    /// In `.bf16`, op(A) and op(B) are rounded to bfloat16 and the products summed in fp32 (`llm_sgemm_bf16`).
    @inline(__always)
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, precision: MatmulPrecision = .fp32) {
        switch precision {
        case .fp32: llm_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        case .bf16: llm_sgemm_bf16(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        }
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

/// The number format of the matrix products in tensor ops: fp32, or bf16 inputs with fp32 sums, as
/// mixed-precision training runs them (PyTorch's `torch.autocast(dtype=torch.bfloat16)` for matmuls).
/// Everything else (norms, softmax, losses, the optimizer, the weights themselves) stays fp32.
///
/// `current` is task-local: set it around a forward and backward pass with `MatmulPrecision.$current.withValue`
/// (or `Tensor.withMatmulPrecision`). Each op reads it when it runs forward, and its backward products use the
/// same format, wherever the backward pass runs.
public enum MatmulPrecision: String, CaseIterable, Sendable {
    case fp32, bf16

    @TaskLocal public static var current: MatmulPrecision = .fp32

    /// The micro-kernel this format's products run on now, e.g. "avx512_bf16 8x32".
    public var kernelName: String { String(cString: llm_gemm_kernel_name(self == .bf16 ? 1 : 0)) }

    /// Whether bf16 products run on the CPU's own bf16 instructions (else on the fp32 kernels, inputs rounded to bf16).
    public static var hasNativeBF16: Bool { llm_gemm_bf16_native() != 0 }
}
