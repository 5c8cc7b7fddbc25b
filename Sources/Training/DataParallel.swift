// Data-parallel training: N processes each hold the whole model, take their own rows of every batch, and
// average their gradients before each (identical) optimizer step, so they compute what one process with an
// N-times larger batch would (DDP's scheme; llm.c's with MPI). The union of the ranks' rows is exactly the batch
// one process takes with batch N·B: rank r takes rows r·B ..< r·B + B of it.
//
// The gradients are averaged while the backward pass runs (GradientAveraging.swift).
// The trainer only needs a way to sum numbers over the processes; `llm train` provides one over Open MPI
// (LLMCommand/Support/OpenMPI.swift), loaded at run time, so nothing here depends on MPI.

import Foundation
import Tensors

/// Processes training one model together.
public protocol DataParallelGroup: AnyObject {
    /// This process's index, 0 ..< size; rank 0 writes the checkpoints and the log.
    var rank: Int { get }
    var size: Int { get }
    /// Replaces `values` on every rank by their sum over the ranks.
    func sum(_ values: UnsafeMutableBufferPointer<Float>)
    /// Starts that sum and returns at once; `values` must stay in place until it completes
    /// (GradientAveraging.swift; the default sums before returning).
    func startSum(_ values: UnsafeMutableBufferPointer<Float>) -> PendingSum
    func sum(_ values: inout [Double])
    /// Starts summing `values` (size × n floats) over the ranks into `shard` (n floats): rank r receives the sum
    /// of block r alone (MPI_Reduce_scatter_block; ZeroRedundancy.swift).
    func startReduceScatter(_ values: UnsafeMutableBufferPointer<Float>, into shard: UnsafeMutableBufferPointer<Float>) -> PendingSum
    /// Replaces `values` (size × n floats) on every rank by the concatenation of every rank's block (rank r's own
    /// block r of its `values`).
    func allGather(_ values: UnsafeMutableBufferPointer<Float>)
    /// Replaces `values` on every rank by their largest value over the ranks.
    func maximum(_ values: inout [Double])
}

extension DataParallelGroup {
    /// Whether every rank holds bit-identical `parameters` (a 52-bit FNV-1a digest of their bytes, compared).
    func parametersAgree(_ parameters: [Tensor]) -> Bool {
        var digest: UInt64 = 0xcbf2_9ce4_8422_2325
        for p in parameters {
            p.withUnsafeBufferPointer { values in
                for v in values { digest = (digest ^ UInt64(v.bitPattern)) &* 0x100_0000_01b3 }
            }
        }
        let mine = Double(digest & ((1 << 52) - 1)) // exactly representable
        var extremes = [mine, -mine]
        maximum(&extremes)
        return extremes[0] == mine && -extremes[1] == mine
    }
}

extension TokenBatch {
    /// Rows `rank`·B ..< (`rank` + 1)·B of a batch of `parts`·B rows.
    func rows(part rank: Int, of parts: Int) -> TokenBatch { rows(share(part: rank, of: parts)) }

    /// This process's rows: `rank`·B ..< (`rank` + 1)·B of `parts`·B.
    func share(part rank: Int, of parts: Int) -> Range<Int> {
        let rows = batchSize / parts
        return (rank * rows)..<((rank + 1) * rows)
    }

    /// The batch of rows `range` alone.
    public func rows(_ range: Range<Int>) -> TokenBatch {
        let span = (range.lowerBound * length)..<(range.upperBound * length)
        return TokenBatch(inputs: Array(inputs[span]), targets: Array(targets[span]), batchSize: range.count, length: length)
    }
}
