// The thread pool, seen from Swift. The pool itself lives in CKernels (threadpool.c) so that GEMM and
// the fused kernels share it with Swift code.

import CKernels

public enum Threads {
    /// Threads used by parallel work, the caller included. Defaults to `LLM_NUM_THREADS`, else all cores.
    public static var count: Int {
        get { Int(llm_num_threads()) }
        set { llm_set_num_threads(Int32(clamping: newValue)) }
    }

    /// Runs `body(i)` for every i in 0..<count on the pool and returns when all are done. `body` runs
    /// concurrently: it must only write to memory no other index writes.
    public static func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { escaping in
            var closure = escaping
            withUnsafeMutablePointer(to: &closure) { context in
                llm_parallel_for(count, { context, index in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(index)
                }, context)
            }
        }
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
