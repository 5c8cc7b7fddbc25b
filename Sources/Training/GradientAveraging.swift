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
        let count: Int
        let buffer: UnsafeMutablePointer<Float>
        var pending = 0 // members whose gradients are not complete yet
        var sum: PendingSum?
    }

    private let parameters: [Tensor]
    private let group: DataParallelGroup
    private var buckets: [Bucket] = []
    private var bucketOf: [ObjectIdentifier: Int] = [:]
    private var nextToStart = 0, oldestRunning = 0
    /// Seconds spent after backward passes waiting for sums (the communication that did not overlap), in all.
    private(set) var waitSeconds: Double = 0

    init(parameters: [Tensor], group: DataParallelGroup, bucketBytes: Int = 25 << 20) {
        self.parameters = parameters
        self.group = group
        var members: [Int] = [], filled = 0
        func close() {
            guard !members.isEmpty else { return }
            buckets.append(Bucket(members: members, count: filled, buffer: .allocate(capacity: filled)))
            members = []
            filled = 0
        }
        for k in parameters.indices.reversed() {
            if filled > 0 && (filled + parameters[k].count) * 4 > bucketBytes { close() }
            members.append(k)
            filled += parameters[k].count
        }
        close()
        for (b, bucket) in buckets.enumerated() {
            for k in bucket.members { bucketOf[ObjectIdentifier(parameters[k])] = b }
        }
    }

    deinit { buckets.forEach { $0.buffer.deallocate() } }

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
    func finish() {
        let started = Date()
        while nextToStart < buckets.count { start(nextToStart) }
        let scale = 1 / Float(group.size)
        for bucket in buckets {
            bucket.sum!.wait()
            var offset = 0
            for k in bucket.members {
                parameters[k].withUnsafeMutableGradient { g in
                    for i in 0..<g.count { g[i] = bucket.buffer[offset + i] * scale }
                }
                offset += parameters[k].count
            }
        }
        waitSeconds += Date().timeIntervalSince(started)
        for b in buckets.indices { buckets[b].sum = nil }
        (nextToStart, oldestRunning) = (0, 0)
    }

    private func start(_ b: Int) {
        var offset = 0
        for k in buckets[b].members {
            parameters[k].withUnsafeMutableGradient { g in (buckets[b].buffer + offset).update(from: g.baseAddress!, count: g.count) }
            offset += parameters[k].count
        }
        buckets[b].sum = group.startSum(UnsafeMutableBufferPointer(start: buckets[b].buffer, count: buckets[b].count))
        nextToStart = b + 1
    }
}
