// The key/value cache for inference: a fixed number of sequence slots, each allocated once at full
// context length, so generating a token never copies the cache (the Tensor-based `KVCache` of
// GPTModel.swift concatenates a new tensor every token: fine for learning, quadratic for serving).
//
// Layout per slot and layer: keys and values as (T, K·hd) rows, heads side by side in each row — exactly
// the key and value parts of the fused qkv projection's rows, so caching a token is two row copies,
// and the attention kernel reads key/value head h of position t at t * K·hd + h * hd (K·hd = C for GPT-2).
//
// A slot also remembers the tokens it holds, so a new request that starts with the same tokens (a chat
// that grows turn by turn, or the same system prompt) can reuse them instead of recomputing.

import Foundation
import Models

public final class KVSlots: @unchecked Sendable { // used by one thread at a time (the engine's)
    public let slotCount: Int, layers: Int, capacity: Int, width: Int
    private var storage: [RawStorage?]
    /// Tokens whose keys and values each slot holds, in position order.
    public private(set) var tokens: [[Int]]

    /// `capacity` positions of `width` (K·hd) floats per layer, per slot; memory is taken when a slot is
    /// first used.
    public init(slots: Int, layers: Int, capacity: Int, width: Int) {
        slotCount = slots
        self.layers = layers
        self.capacity = capacity
        self.width = width
        storage = Array(repeating: nil, count: slots)
        tokens = Array(repeating: [], count: slots)
    }

    /// Slots for a model: keys and values are K·hd wide (n_embd for GPT-2; grouped-query attention's K
    /// key/value heads make them narrower by H / K).
    public convenience init(slots: Int, config: GPTConfig) {
        self.init(slots: slots, layers: config.layers, capacity: config.contextLength, width: config.keyValueHeads * config.headDimension)
    }

    /// Bytes one slot takes.
    public var bytesPerSlot: Int { 2 * layers * capacity * width * 4 }

    /// Positions cached in `slot`.
    public func length(_ slot: Int) -> Int { tokens[slot].count }

    /// Forgets everything after the first `length` positions of `slot` (the memory is kept).
    public func truncate(_ slot: Int, to length: Int) {
        if length < tokens[slot].count { tokens[slot].removeLast(tokens[slot].count - length) }
    }

    /// How many leading tokens of `prompt` the slot already holds.
    public func sharedPrefix(_ slot: Int, _ prompt: [Int]) -> Int {
        var n = 0
        let held = tokens[slot]
        while n < held.count && n < prompt.count && held[n] == prompt[n] { n += 1 }
        return n
    }

    /// Keys (which 0) or values (which 1) of `layer` in `slot`: capacity x width floats.
    func buffer(_ slot: Int, layer: Int, _ which: Int) -> UnsafeMutablePointer<Float> {
        if storage[slot] == nil { storage[slot] = RawStorage(byteCount: bytesPerSlot) }
        let floats = capacity * width
        return storage[slot]!.pointer.assumingMemoryBound(to: Float.self) + (2 * layer + which) * floats
    }

    /// Records that `slot` now holds `token` at the next position (the forward pass wrote its rows).
    func record(_ slot: Int, token: Int) { tokens[slot].append(token) }
}
