// Averaging the gradients over the data-parallel processes while the backward pass still runs (DDP's scheme).
//
// The parameters are grouped into buckets of about 25 MB in reverse order (the last layers' gradients are complete
// first). The backward pass reports each parameter as its gradient completes (`Tensor.backward(leafDone:)`); when
// every member of a bucket is complete, its gradients are copied into the bucket's buffer and a non-blocking sum
// over the processes starts, while the backward pass goes on to earlier layers. After the pass, what is still
// running is waited for and the averages are written back.
//
// Progress: Open MPI advances a non-blocking collective only inside its own calls (no progress thread in Debian's
// build: "OMPI progress: no"). We poll (`PendingSum.test`, MPI_Test) each time a parameter completes, from the
// thread running the backward pass, rather than starting a communication thread: each process here has one core's
// worth of threads, which a polling thread would take from the kernels, and a single calling thread keeps Open MPI
// at MPI_THREAD_SINGLE. Buckets start in the same order on every process, as MPI requires of collectives.
//
// Sharded (ZeRO stage 1, ZeroRedundancy.swift): each bucket is padded to N equal blocks and reduce-scattered instead
// of summed everywhere: process r receives the sum of block r alone, the gradients of the parameter elements it
// updates (`shardViews`, views into the parameters); after the update the blocks are all-gathered back.

import Foundation
import Tensors

/// A sum over the processes that has started and may still be running.
public protocol PendingSum: AnyObject {
    /// Whether the sum is complete (and a chance for the library to make progress).
    func test() -> Bool
    /// Blocks until the sum is complete.
    func wait()
}

/// A sum that completed when it started (groups without non-blocking sums).
final class CompletedSum: PendingSum {
    func test() -> Bool { true }
    func wait() {}
}

extension DataParallelGroup {
    public func startSum(_ values: UnsafeMutableBufferPointer<Float>) -> PendingSum {
        sum(values)
        return CompletedSum()
    }
}

/// The buckets of one model's parameters, and their sums in flight during a backward pass.
final class GradientAverager {
    private struct Bucket {
        var members: [Int] // indices into parameters
        let offsets: [Int] // where each member's elements start in the buffer
        let count: Int
        /// The members' values side by side; sharded, `block` × the group's size (the end is padding).
        let buffer: UnsafeMutablePointer<Float>
        let block: Int
        /// Sharded: this process's block of the reduce-scattered sum.
        let shard: UnsafeMutablePointer<Float>?
        var pending = 0 // members whose gradients are not complete yet
        var sum: PendingSum?
    }

    /// A run of one parameter's elements inside this process's block of a bucket.
    struct Segment {
        let bucket: Int, parameter: Int, start: Int, count: Int
        let offset: Int // in the block
    }

    private let parameters: [Tensor]
    private let group: DataParallelGroup
    let sharded: Bool
    private var buckets: [Bucket] = []
    private var bucketOf: [ObjectIdentifier: Int] = [:]
    private var nextToStart = 0, oldestRunning = 0
    /// Sharded: the parameter elements this process updates, and views of them (sharing the parameters' memory)
    /// whose gradients receive the averages.
    private(set) var segments: [Segment] = []
    private(set) var shardViews: [Tensor] = []
    /// Seconds spent after backward passes waiting for sums (the communication that did not overlap), in all.
    private(set) var waitSeconds: Double = 0

    init(parameters: [Tensor], group: DataParallelGroup, bucketBytes: Int = 25 << 20, sharded: Bool = false) {
        self.parameters = parameters
        self.group = group
        self.sharded = sharded
        var members: [Int] = [], offsets: [Int] = [], filled = 0
        func close() {
            guard !members.isEmpty else { return }
            let block = sharded ? (filled + group.size - 1) / group.size : filled
            buckets.append(Bucket(members: members, offsets: offsets, count: filled, buffer: .allocate(capacity: sharded ? block * group.size : filled),
                                  block: block, shard: sharded ? .allocate(capacity: block) : nil))
            members = []
            offsets = []
            filled = 0
        }
        for k in parameters.indices.reversed() {
            if filled > 0 && (filled + parameters[k].count) * 4 > bucketBytes { close() }
            members.append(k)
            offsets.append(filled)
            filled += parameters[k].count
        }
        close()
        for (b, bucket) in buckets.enumerated() {
            for k in bucket.members { bucketOf[ObjectIdentifier(parameters[k])] = b }
            guard sharded else { continue }
            // This process's block [rank·block, rank·block + block) of the bucket, cut at parameter boundaries.
            let mine = (group.rank * bucket.block)..<min((group.rank + 1) * bucket.block, bucket.count)
            for (k, offset) in zip(bucket.members, bucket.offsets) {
                let here = offset..<(offset + parameters[k].count), overlap = here.clamped(to: mine)
                if !overlap.isEmpty {
                    segments.append(Segment(bucket: b, parameter: k, start: overlap.lowerBound - offset, count: overlap.count,
                                            offset: overlap.lowerBound - mine.lowerBound))
                    shardViews.append(parameters[k].flatView((overlap.lowerBound - offset)..<(overlap.upperBound - offset)))
                }
            }
        }
    }

    deinit {
        for bucket in buckets {
            bucket.buffer.deallocate()
            bucket.shard?.deallocate()
        }
    }

    /// Before the backward pass whose gradients are averaged.
    func begin() {
        for b in buckets.indices {
            buckets[b].pending = buckets[b].members.count
            buckets[b].sum = nil
        }
        (nextToStart, oldestRunning) = (0, 0)
    }

    /// The backward pass's report that `leaf`'s gradient is complete: starts the buckets that are, in order.
    func leafDone(_ leaf: Tensor) {
        guard let b = bucketOf[ObjectIdentifier(leaf)] else { return }
        buckets[b].pending -= 1
        while nextToStart < buckets.count && buckets[nextToStart].pending == 0 { start(nextToStart) }
        while oldestRunning < nextToStart && buckets[oldestRunning].sum!.test() { oldestRunning += 1 }
    }

    /// After the backward pass (also without `begin`/`leafDone`: then every sum starts here, none overlaps):
    /// starts what has not started, waits for all, and writes each gradient's average over the processes.
    /// Sharded, the averages go to `shardViews`' gradients; the parameters' own gradients are left as they were.
    func finish() {
        let started = Date()
        while nextToStart < buckets.count { start(nextToStart) }
        let scale = 1 / Float(group.size)
        for bucket in buckets {
            bucket.sum!.wait()
            guard !sharded else { continue }
            for (k, offset) in zip(bucket.members, bucket.offsets) {
                parameters[k].withUnsafeMutableGradient { g in
                    for i in 0..<g.count { g[i] = bucket.buffer[offset + i] * scale }
                }
            }
        }
        for (segment, view) in zip(segments, shardViews) {
            let shard = buckets[segment.bucket].shard! + segment.offset
            view.withUnsafeMutableGradient { g in for i in 0..<g.count { g[i] = shard[i] * scale } }
        }
        waitSeconds += Date().timeIntervalSince(started)
        for b in buckets.indices { buckets[b].sum = nil }
        (nextToStart, oldestRunning) = (0, 0)
    }

    private func start(_ b: Int) {
        let bucket = buckets[b]
        for (k, offset) in zip(bucket.members, bucket.offsets) {
            parameters[k].withUnsafeMutableGradient { g in (bucket.buffer + offset).update(from: g.baseAddress!, count: g.count) }
        }
        if let shard = bucket.shard {
            (bucket.buffer + bucket.count).update(repeating: 0, count: bucket.block * group.size - bucket.count)
            buckets[b].sum = group.startReduceScatter(UnsafeMutableBufferPointer(start: bucket.buffer, count: bucket.block * group.size),
                                                      into: UnsafeMutableBufferPointer(start: shard, count: bucket.block))
        } else {
            buckets[b].sum = group.startSum(UnsafeMutableBufferPointer(start: bucket.buffer, count: bucket.count))
        }
        nextToStart = b + 1
    }

    // MARK: Sharded (ZeRO-1)

    /// Gives every process every parameter again after each updated its segments: each bucket's blocks are
    /// all-gathered and copied into the parameters.
    func gatherParameters() {
        for (b, bucket) in buckets.enumerated() {
            gather(b, from: { view in view.withUnsafeBufferPointer { Array($0) } })
            for (k, offset) in zip(bucket.members, bucket.offsets) {
                parameters[k].withUnsafeMutableBufferPointer { p in p.baseAddress!.update(from: bucket.buffer + offset, count: p.count) }
            }
        }
    }

    /// Per-segment values (one array per segment, as `segments`) from every process → per-parameter arrays
    /// (the optimizer's moments, gathered for a checkpoint). Every process takes part; only one that `keeps` the
    /// result allocates it (the others get nil).
    func gatherSegments(_ values: [[Float]], keep: Bool) -> [[Float]]? {
        var whole = keep ? parameters.map { [Float](repeating: 0, count: $0.count) } : []
        let byView = Dictionary(uniqueKeysWithValues: zip(shardViews.map(ObjectIdentifier.init), values))
        for (b, bucket) in buckets.enumerated() {
            gather(b, from: { byView[ObjectIdentifier($0)]! })
            guard keep else { continue }
            for (k, offset) in zip(bucket.members, bucket.offsets) {
                whole[k].withUnsafeMutableBufferPointer { w in w.baseAddress!.update(from: bucket.buffer + offset, count: w.count) }
            }
        }
        return keep ? whole : nil
    }

    /// Fills this process's block of bucket `b`'s buffer with `values(view)` for its segments, then all-gathers the blocks.
    private func gather(_ b: Int, from values: (Tensor) -> [Float]) {
        let bucket = buckets[b], mine = bucket.buffer + group.rank * bucket.block
        for (segment, view) in zip(segments, shardViews) where segment.bucket == b {
            values(view).withUnsafeBufferPointer { (mine + segment.offset).update(from: $0.baseAddress!, count: $0.count) }
        }
        group.allGather(UnsafeMutableBufferPointer(start: bucket.buffer, count: bucket.block * group.size))
    }
}
