// Training pairs for next-token prediction (book chapter 2): slide a window of `maxLength` tokens
// over the text, `stride` tokens at a time; the target is the same window shifted one token right.
//
//   ids      40  367 2885 1464 1807 ...
//   input   [40  367 2885 1464]
//   target      [367 2885 1464 1807]
//
// stride 1 gives every window (overlapping); stride = maxLength gives non-overlapping windows, so no
// token is a target twice in one epoch. Windows are not copied: a window is its start offset.

import Foundation
import Tensors

public struct DatasetError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public var errorDescription: String? { description }
}

public struct SlidingWindowDataset: Sendable {
    public let tokens: TokenStore
    public let maxLength: Int
    public let stride: Int
    /// Start offset of each window.
    public let starts: [Int]

    /// `contextLimit` is the model's context length, if a model will read the windows.
    public init(tokens: [Int], maxLength: Int, stride: Int, contextLimit: Int? = nil) throws {
        try self.init(store: TokenStore(tokens), maxLength: maxLength, stride: stride, contextLimit: contextLimit)
    }

    /// Windows over tokens in memory or in a memory-mapped token file.
    public init(store tokens: TokenStore, maxLength: Int, stride: Int, contextLimit: Int? = nil) throws {
        guard maxLength >= 1 else { throw DatasetError(description: "the window length must be at least 1, got \(maxLength)") }
        guard stride >= 1 else { throw DatasetError(description: "the stride must be at least 1, got \(stride)") }
        if let limit = contextLimit, maxLength > limit {
            throw DatasetError(description: "the window length \(maxLength) is larger than the model's context length \(limit)")
        }
        guard tokens.count > maxLength else {
            throw DatasetError(description: "the text has \(tokens.count) tokens, but one window of \(maxLength) needs \(maxLength + 1) (inputs plus the shifted targets)")
        }
        self.tokens = tokens
        self.maxLength = maxLength
        self.stride = stride
        starts = Array(Swift.stride(from: 0, to: tokens.count - maxLength, by: stride))
    }

    public var count: Int { starts.count }

    /// The input and target windows of example `i`.
    public subscript(i: Int) -> (input: ArraySlice<Int>, target: ArraySlice<Int>) {
        let window = tokens.slice(starts[i], maxLength + 1)
        return (window[0..<maxLength], window[1...maxLength])
    }
}

/// A batch of windows: ids in row-major (batch, length) order.
public struct TokenBatch: Sendable {
    public let inputs: [Int]
    public let targets: [Int]
    public let batchSize: Int
    public let length: Int

    public init(inputs: [Int], targets: [Int], batchSize: Int, length: Int) {
        (self.inputs, self.targets, self.batchSize, self.length) = (inputs, targets, batchSize, length)
    }
}

/// Batches of a dataset in order or in a seeded shuffled order (a new order each epoch).
public struct DataLoader: Sequence {
    public let dataset: SlidingWindowDataset
    public let batchSize: Int
    public let shuffle: Bool
    public let dropLast: Bool
    public let seed: UInt64

    public init(_ dataset: SlidingWindowDataset, batchSize: Int, shuffle: Bool = false, dropLast: Bool = true, seed: UInt64 = 0) throws {
        guard batchSize >= 1 else { throw DatasetError(description: "the batch size must be at least 1, got \(batchSize)") }
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.seed = seed
    }

    /// Batches per epoch.
    public var count: Int { dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize }

    /// The batches of epoch `epoch` (the shuffle differs per epoch, and is the same for the same seed).
    /// `limit`: only the first so many (without building the rest).
    public func batches(epoch: Int, limit: Int? = nil) -> [TokenBatch] {
        let order = epochOrder(dataset.count, shuffle: shuffle, seed: seed, epoch: epoch)
        return batchMembers(order, size: batchSize, dropLast: dropLast).prefix(limit ?? Int.max).map { members in
            var inputs: [Int] = [], targets: [Int] = []
            for i in members {
                let (x, y) = dataset[i]
                inputs += x
                targets += y
            }
            return TokenBatch(inputs: inputs, targets: targets, batchSize: members.count, length: dataset.maxLength)
        }
    }

    public func makeIterator() -> IndexingIterator<[TokenBatch]> { batches(epoch: 0).makeIterator() }
}

/// The order in which a loader visits `count` examples in `epoch`: as they are, or a seeded shuffle
/// that differs per epoch and is the same for the same seed.
func epochOrder(_ count: Int, shuffle: Bool, seed: UInt64, epoch: Int) -> [Int] {
    var order = Array(0..<count)
    if shuffle {
        var rng = SeededGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
        order.shuffle(using: &rng)
    }
    return order
}

/// `order` cut into consecutive batches of `size`; the last, shorter one is dropped when `dropLast`.
func batchMembers(_ order: [Int], size: Int, dropLast: Bool) -> [ArraySlice<Int>] {
    let batchCount = dropLast ? order.count / size : (order.count + size - 1) / size
    return (0..<batchCount).map { order[($0 * size)..<Swift.min(($0 + 1) * size, order.count)] }
}
