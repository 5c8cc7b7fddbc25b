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
