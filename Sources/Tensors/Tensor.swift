// Tensor: an n-dimensional array of Float, row-major and always contiguous, that records the
// operations applied to it so that `backward()` can compute gradients (Autograd.swift).
//
// Design choices, and why:
// - Always contiguous. `transposed`/`permuted` copy; `reshaped` shares storage. Strided views would
//   save copies but make every kernel handle strides; the hot paths (GEMM with transpose flags, the
//   fused row kernels) never need the copies anyway.
// - A class: a tensor is a node of the autograd graph and has identity.
// - Shape errors are programmer errors: they trap with a message that names both shapes. Input from
//   files, flags and the network must be validated before it becomes a tensor.
//
// Dimension legend used in comments across this module: B batch, T time (tokens), C channels,
// M/N/K matrix sizes (op(A) is M x K, op(B) is K x N).

import Foundation

/// Owns a 64-byte aligned buffer of Floats; shared by tensors that are reshapes of one another.
final class Storage {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    private let capacity: Int // in Floats, as allocated (large buffers are rounded up for reuse)
    /// Set when the memory belongs to someone else (a memory-mapped checkpoint); kept alive here.
    private let owner: AnyObject?

    init(count: Int) {
        self.count = count
        (pointer, capacity) = BufferPool.shared.take(count)
        owner = nil
    }

    convenience init(zeros count: Int) {
        self.init(count: count)
        pointer.initialize(repeating: 0, count: count)
    }

    /// Memory owned by `owner` (for example a private, copy-on-write file mapping): no copy is made,
    /// and the owner lives as long as this storage. Such memory is 4-byte aligned, not 64.
    init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.pointer = pointer
        self.count = count
        capacity = 0
        self.owner = owner
    }

    deinit { if owner == nil { BufferPool.shared.give(pointer, capacity: capacity) } }
}

/// Keeps freed large buffers for reuse. A training step allocates the same large tensors (logits,
/// activations, their gradients) every time; taking them from the system each time costs a page
/// fault per 4 KB and zeroing by the kernel, which measured as a fifth of a small model's step.
/// Buffers under 128 KB go straight to malloc, which handles them well (above it glibc maps and unmaps). Larger ones are rounded up to one of eight
/// sizes per octave (at most 12.5 % more), and a request may take a buffer of up to twice its size, so that work
/// whose shapes vary from call to call (batches of texts of different lengths) still finds its buffers: with exact
/// sizes, embedding the SMS collection found almost none, and spent a sixth of its time in page faults.
final class BufferPool: @unchecked Sendable { // all state behind `lock`
    static let shared = BufferPool()
    private let lock = NSLock()
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private var cachedBytes = 0
    private let limitBytes = 2 << 30
    private static let pooledFloats = 1 << 15   // 128 KB

    /// `count` rounded up to its size class: a multiple of an eighth of the power of two below it.
    static func sizeClass(_ count: Int) -> Int {
        let step = 1 << (Int.bitWidth - 1 - count.leadingZeroBitCount - 3)
        return (count + step - 1) / step * step
    }

    func take(_ count: Int) -> (UnsafeMutablePointer<Float>, Int) {
        var capacity = Swift.max(count, 1)
        if capacity >= Self.pooledFloats {
            capacity = Self.sizeClass(capacity)
            lock.lock()
            // The request's own class, else one of the next eight (up to twice the size): shapes that shrink from
            // call to call (batches sorted longest first) reuse the larger buffers of the calls before.
            var size = capacity
            for _ in 0...8 {
                if let raw = free[size]?.popLast() {
                    cachedBytes -= size * 4
                    lock.unlock()
                    return (raw.assumingMemoryBound(to: Float.self), size)
                }
                size = Self.sizeClass(size + 1)
            }
            lock.unlock()
        }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * MemoryLayout<Float>.stride, alignment: 64)
        return (raw.bindMemory(to: Float.self, capacity: capacity), capacity)
    }

    func give(_ pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        let raw = UnsafeMutableRawPointer(pointer)
        if capacity >= Self.pooledFloats {
            lock.lock()
            if cachedBytes + capacity * 4 <= limitBytes {
                free[capacity, default: []].append(raw)
                cachedBytes += capacity * 4
                lock.unlock()
                return
            }
            lock.unlock()
        }
        raw.deallocate()
    }
}

/// A node of the autograd graph: the inputs of the operation that made a tensor and how to send the
/// output's gradient back to them. The closure gets the output tensor as an argument (rather than
/// capturing it) so that no tensor keeps itself alive.
struct GradientNode {
    let name: String
    let inputs: [Tensor]
    let backward: (_ output: Tensor) -> Void
}

public final class Tensor {
    /// The size of each dimension; `[]` for a scalar.
    public let shape: [Int]
    private(set) var storage: Storage
    /// Whether gradients flow to this tensor. Set it on parameters (leaves); operations set it on
    /// their outputs when any input requires grad and gradient recording is enabled.
    public var requiresGrad: Bool
    var gradStorage: Storage?
    var node: GradientNode?

    init(shape: [Int], storage: Storage, requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(storage.count == shapeCount(shape),
                     "storage of \(storage.count) elements cannot hold shape \(shape)")
        self.shape = shape
        self.storage = storage
        self.requiresGrad = requiresGrad
    }

    /// A tensor of the given shape with uninitialised contents; callers fill every element.
    init(uninitializedShape shape: [Int]) {
        self.shape = shape
        self.storage = Storage(count: shapeCount(shape))
        self.requiresGrad = false
    }

    /// A tensor holding `scalars` in row-major order.
    public convenience init(_ scalars: [Float], shape: [Int], requiresGrad: Bool = false) {
        precondition(scalars.count == shapeCount(shape),
                     "\(scalars.count) values do not fill shape \(shape)")
        let storage = Storage(count: scalars.count)
        scalars.withUnsafeBufferPointer { storage.pointer.initialize(from: $0.baseAddress!, count: scalars.count) }
        self.init(shape: shape, storage: storage, requiresGrad: requiresGrad)
    }

    /// A 1-D tensor.
    public convenience init(_ scalars: [Float], requiresGrad: Bool = false) {
        self.init(scalars, shape: [scalars.count], requiresGrad: requiresGrad)
    }

    /// A rank-0 tensor.
    public convenience init(scalar: Float, requiresGrad: Bool = false) {
        self.init([scalar], shape: [], requiresGrad: requiresGrad)
    }

    /// A 2-D tensor from rows of equal length.
    public convenience init(rows: [[Float]], requiresGrad: Bool = false) {
        let width = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == width }, "rows of unequal length")
        self.init(rows.flatMap { $0 }, shape: [rows.count, width], requiresGrad: requiresGrad)
    }

    // MARK: Basic properties

    public var rank: Int { shape.count }
    public var count: Int { storage.count }

    /// The elements in row-major order (a copy).
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: count)) }

    /// The single element of a one-element tensor.
    public func item() -> Float {
        precondition(count == 1, "item() needs a tensor with one element, got shape \(shape)")
        return storage.pointer[0]
    }

    /// The accumulated gradient, or nil before any backward pass reached this tensor.
    public var grad: Tensor? {
        gradStorage.map { Tensor(shape: shape, storage: $0) }
    }

    /// Forgets the accumulated gradient.
    public func zeroGrad() { gradStorage = nil }

    /// The accumulated gradient's memory (zeros first if no backward pass reached this tensor), to read or change
    /// in place: how data-parallel training averages gradients across processes.
    public func withUnsafeMutableGradient<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: gradPointer(), count: count))
    }

    /// A tensor over memory that `owner` keeps alive (a memory-mapped checkpoint), without copying.
    /// Writes go to that memory; with a private mapping they stay in this process.
    public static func borrowing(_ pointer: UnsafeMutablePointer<Float>, shape: [Int], owner: AnyObject) -> Tensor {
        Tensor(shape: shape, storage: Storage(borrowing: pointer, count: shapeCount(shape), owner: owner))
    }

    /// Elements `range` of this tensor's storage as a 1-D tensor sharing its memory: writes to either show in both
    /// (a data-parallel process's shard of a parameter, updated in place by its optimizer).
    public func flatView(_ range: Range<Int>) -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "flatView \(range) outside \(count) elements")
        return .borrowing(storage.pointer + range.lowerBound, shape: [range.count], owner: storage)
    }

    /// Makes this tensor hold `source`'s values by sharing its storage (same shape): how a checkpoint
    /// loader hands memory-mapped weights to the parameters of a freshly built model.
    public func shareStorage(with source: Tensor) {
        precondition(source.shape == shape, "cannot share storage of shape \(source.shape) with \(shape)")
        storage = source.storage
    }

    /// The same values, cut off from the graph (shares storage, requires no grad).
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// Read access to the elements, without a copy.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// Write access to the elements in place (for optimizers and loaders). Writing to a tensor that
    /// a recorded operation still needs for its backward pass gives wrong gradients, as in PyTorch.
    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// Mutable gradient buffer, created as zeros on first use; backward closures add into it.
    func gradPointer() -> UnsafeMutablePointer<Float> {
        if let g = gradStorage { return g.pointer }
        let g = Storage(zeros: count)
        gradStorage = g
        return g.pointer
    }

    var pointer: UnsafeMutablePointer<Float> { storage.pointer }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { String(format: "%.4f", Double($0)) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", ..." : "")])"
    }
}

/// Number of elements of a shape.
func shapeCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

/// Row-major strides of a contiguous shape.
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var step = 1
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[axis] = step
        step *= shape[axis]
    }
    return strides
}

/// Turns a possibly negative axis (-1 = last) into an index, trapping when out of range.
func normalizedAxis(_ axis: Int, rank: Int) -> Int {
    let a = axis < 0 ? axis + rank : axis
    precondition(a >= 0 && a < rank, "axis \(axis) out of range for rank \(rank)")
    return a
}
