// The machine's peak multiply-add rate on all benchmark threads (PeakFLOPS' loops run side by side), the
// ceiling the GEMM rows are reported against.

import Dispatch
import PeakFLOPS
import Tensors

enum PeakRate: Int32, CaseIterable {
    case fp32AVX512 = 0, fp32AVX2 = 1, bf16AVX512 = 2

    var name: String {
        switch self {
        case .fp32AVX512: "fp32 FMA peak (vfmadd231ps zmm)"
        case .fp32AVX2: "fp32 FMA peak (vfmadd231ps ymm)"
        case .bf16AVX512: "bf16 peak (vdpbf16ps zmm)"
        }
    }

    /// GFLOP/s on `Threads.count` threads at once (median of 5 runs of ~0.2 s), or nil without the instructions.
    func gflops() -> Double? {
        let threads = Threads.count, iterations = 20_000_000
        var flops = 0.0
        let seconds = time(repeats: 5) {
            nonisolated(unsafe) let total = UnsafeMutableBufferPointer<Double>.allocate(capacity: threads)
            defer { total.deallocate() }
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                var sink = [Float](repeating: 0, count: 256)
                total[t] = peak_multiply_adds(rawValue, iterations, &sink)
            }
            flops = total.reduce(0, +)
        }
        return flops > 0 ? flops / seconds / 1e9 : nil
    }

    /// The peak the kernel for `precision` is bounded by on this CPU.
    static func bound(for precision: MatmulPrecision) -> PeakRate {
        switch (precision, GEMMInstructionSet.current) {
        case (.bf16, _) where MatmulPrecision.hasNativeBF16: .bf16AVX512
        case (_, .avx512): .fp32AVX512
        default: .fp32AVX2
        }
    }
}
