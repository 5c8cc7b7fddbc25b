// Text generation: feed the prompt, then repeatedly pick the next token from the logits of the last
// position and feed it back. With the KV cache each step costs one position of work.
// How the next token is picked from the logits is in Sampling.swift.

import Foundation
import Models
import Tensors
import Tokenizers

public struct SamplingOptions: Sendable {
    public var maxNewTokens = 50
    /// 0 means greedy.
    public var temperature: Float = 1
    public var topK: Int?
    public var topP: Float?
    public var seed: UInt64 = 0
    /// Generation stops after emitting one of these ids (not included in the text).
    public var stopTokens: Set<Int> = []
    /// Generation stops when the text contains one of these (cut before it).
    public var stopStrings: [String] = []
    /// Asked before each token; true ends generation there (Ctrl-C in `llm generate`).
    public var stopRequested: (@Sendable () -> Bool)?

    public init(maxNewTokens: Int = 50, temperature: Float = 1, topK: Int? = nil, topP: Float? = nil, seed: UInt64 = 0,
                stopTokens: Set<Int> = [], stopStrings: [String] = []) {
        self.maxNewTokens = maxNewTokens
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
        self.stopTokens = stopTokens
        self.stopStrings = stopStrings
    }
}

public struct GenerationResult: Sendable {
    public let text: String
    public let ids: [Int]
    /// Prompt tokens dropped from the left because the prompt was longer than the context.
    public let croppedPromptTokens: Int
    public let tokensPerSecond: Double
}

extension GPTModel {
    /// Logits of the last position for `ids` (all new if a cache is given).
    public func nextTokenLogits(_ ids: [Int], cache: KVCache?) -> [Float] {
        Autograd.withNoGrad {
            let h = hidden(ids, batch: 1, cache: cache)                      // (1, T, C)
            let last = h.select(1, h.shape[1] - 1)                          // (1, C)
            return last.matmulTransposed(outputHead ?? tokenEmbedding.weight).scalars
        }
    }

    /// Generates up to `maxNewTokens` after `prompt`, calling `onText` with each piece of text as it
    /// becomes complete (never half a character). GPT-2's family runs on InferenceModel (preallocated
    /// cache, no autograd); other positional encodings, or `useCache: false`, on this model's own forward pass.
    public func generate(prompt: [Int], encoding: Encoding, options: SamplingOptions, useCache: Bool = true,
                         onText: (String) -> Void = { _ in }) throws -> GenerationResult {
        if useCache && InferenceModel.supports(config) {
            return try InferenceModel(self).generate(prompt: prompt, encoding: encoding, options: options, onText: onText)
        }
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        var cache: KVCache? = useCache ? KVCache(layers: config.layers) : nil
        var context: [Int] = []
        return try generationLoop(prompt: prompt, contextLength: config.contextLength, encoding: encoding, options: options,
                                  onText: onText) { tokens, restart in
            if restart { context = []; if useCache { cache = KVCache(layers: config.layers) } }
            context += tokens
            return nextTokenLogits(cache == nil ? context : tokens, cache: cache)
        }
    }
}

extension InferenceModel {
    /// Generates up to `maxNewTokens` after `prompt` (see GPTModel.generate), in one cache slot.
    public func generate(prompt: [Int], encoding: Encoding, options: SamplingOptions,
                         onText: (String) -> Void = { _ in }) throws -> GenerationResult {
        let cache = KVSlots(slots: 1, config: config)
        return try generationLoop(prompt: prompt, contextLength: config.contextLength, encoding: encoding, options: options,
                                  onText: onText) { tokens, restart in
            if restart { cache.truncate(0, to: 0) }
            let start = cache.length(0)
            return forward(tokens: tokens, slots: Array(repeating: 0, count: tokens.count),
                           positions: Array(start..<(start + tokens.count)), cache: cache, logitsFor: [tokens.count - 1])
        }
    }
}

/// The generation loop both forward paths share. `feed(tokens, restart)` gives the model the tokens it
/// has not seen yet (after `restart`, the whole window again, its cache emptied) and returns the logits
/// for the next token.
func generationLoop(prompt: [Int], contextLength limit: Int, encoding: Encoding, options: SamplingOptions,
                    onText: (String) -> Void, feed: (_ tokens: [Int], _ restart: Bool) -> [Float]) throws -> GenerationResult {
    guard !prompt.isEmpty else { throw GPTError(description: "the prompt is empty; give at least one token") }
    let cropped = max(0, prompt.count - (limit - 1))
    var context = Array(prompt.dropFirst(cropped))
    var generator = SeededGenerator(seed: options.seed)
    var stream = TextStream(encoding: encoding, stopStrings: options.stopStrings) // whole characters, never a stop string
    var newIDs: [Int] = []
    var pending = context, restart = false // tokens the model has not seen yet
    let start = Date()
    for _ in 0..<options.maxNewTokens {
        if options.stopRequested?() == true { break }
        let logits = feed(pending, restart)
        let next = sampleToken(logits, options: options, generator: &generator)
        if options.stopTokens.contains(next) { break }
        newIDs.append(next)
        let piece = try stream.add(next)
        if !piece.isEmpty { onText(piece) }
        if stream.stopped { break }
        context.append(next)
        pending = [next]
        restart = false
        if context.count >= limit { // the window is full: slide it and rebuild the cache
            context.removeFirst(context.count - (limit - 1))
            pending = context
            restart = true
        }
    }
    let tail = stream.finish()
    if !tail.isEmpty { onText(tail) }
    let text = stream.text
    let seconds = Date().timeIntervalSince(start)
    return GenerationResult(text: text, ids: newIDs, croppedPromptTokens: cropped,
                            tokensPerSecond: seconds > 0 ? Double(newIDs.count) / seconds : 0)
}
