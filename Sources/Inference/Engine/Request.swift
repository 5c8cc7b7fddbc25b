// What a client asks the engine for, and what the engine sends back while it works.

import Foundation
import Models

/// One generation: a prompt in token ids and how to continue it.
public struct GenerationRequest: Sendable {
    public var prompt: [Int]
    /// How to continue: max new tokens, temperature (0: greedy), top-k, top-p, seed, and the stop tokens and
    /// stop strings that end it with finish reason `stop` (neither is ever sent).
    public var sampling: SamplingOptions
    /// How many of the likeliest alternatives to report with each token (0: none; nil: no logprobs at all).
    public var logprobs: Int?

    public init(prompt: [Int], sampling: SamplingOptions, logprobs: Int? = nil) {
        self.prompt = prompt
        self.sampling = sampling
        self.logprobs = logprobs
    }

    public init(prompt: [Int], maxTokens: Int, temperature: Float = 1, topK: Int? = nil, topP: Float? = nil, seed: UInt64 = 0,
                stopTokens: Set<Int> = [], stopStrings: [String] = [], logprobs: Int? = nil) {
        self.init(prompt: prompt, sampling: SamplingOptions(maxNewTokens: maxTokens, temperature: temperature, topK: topK, topP: topP,
                                                            seed: seed, stopTokens: stopTokens, stopStrings: stopStrings),
                  logprobs: logprobs)
    }

    public var maxTokens: Int { sampling.maxNewTokens }
}

/// A generated token with its log-probability under the model (before temperature, top-k and top-p,
/// as OpenAI reports them) and the likeliest alternatives.
public struct TokenLogprob: Sendable, Equatable {
    public let token: Int
    public let logprob: Float
    public let top: [(token: Int, logprob: Float)]

    public static func == (a: TokenLogprob, b: TokenLogprob) -> Bool {
        a.token == b.token && a.logprob == b.logprob && a.top.map(\.token) == b.top.map(\.token) && a.top.map(\.logprob) == b.top.map(\.logprob)
    }
}

public enum FinishReason: String, Sendable {
    /// A stop token or stop string.
    case stop
    /// max_tokens reached, or the context is full.
    case length
    /// Cancelled by the client or by shutdown.
    case cancelled
}

public struct Usage: Sendable, Equatable {
    public let promptTokens: Int
    public let completionTokens: Int
    /// Prompt tokens whose keys and values were reused from the slot's previous request.
    public let cachedPromptTokens: Int

    public init(promptTokens: Int, completionTokens: Int, cachedPromptTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedPromptTokens = cachedPromptTokens
    }
}

public enum GenerationEvent: Sendable {
    /// Text that is complete (valid UTF-8, not part of a stop string), and the tokens generated since the last
    /// event (their ids and, if asked for, logprobs). `text` may be empty while a character or a possible
    /// stop string is held back.
    case delta(text: String, tokens: [Int], logprobs: [TokenLogprob])
    /// A prompt chunk was prefilled (`done` of `total` prompt tokens): no text yet, but a streaming client can
    /// be told the request is alive (the server sends an SSE comment).
    case prefilling(done: Int, total: Int)
    /// The end: why, and the token counts.
    case finished(FinishReason, Usage)
}

public struct EngineError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case queueFull, invalidRequest, shuttingDown }
    public let kind: Kind
    public let description: String
}

/// A submitted request: its events, in order, ending with `.finished`; and a way to cancel it.
public final class RequestHandle: Sendable {
    public let id: Int
    public let events: AsyncStream<GenerationEvent>
    let flag: CancelFlag

    init(id: Int, events: AsyncStream<GenerationEvent>, flag: CancelFlag) {
        self.id = id
        self.events = events
        self.flag = flag
    }

    /// Stops the request: a queued one never starts, a running one leaves its slot before the next decode step.
    public func cancel() { flag.set() }
}

final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

extension TokenLogprob {
    /// log softmax(logits)[token] and the `top` likeliest tokens, in Double (ties: lower id first).
    public init(logits: [Float], token: Int, top: Int) {
        let maxLogit = Double(logits.max()!)
        let logSum = maxLogit + Foundation.log(logits.reduce(0.0) { $0 + Foundation.exp(Double($1) - maxLogit) })
        func lp(_ i: Int) -> Float { Float(Double(logits[i]) - logSum) }
        // The `top` best in one pass (a full sort of the vocabulary cost more than the decoding step): ids come
        // in increasing order, so an equal logit never displaces an earlier id, as the order asks.
        var best: [Int] = []
        best.reserveCapacity(top + 1)
        for i in logits.indices where top > 0 && (best.count < top || logits[i] > logits[best[best.count - 1]]) {
            let at = best.firstIndex { logits[$0] < logits[i] } ?? best.count
            best.insert(i, at: at)
            if best.count > top { best.removeLast() }
        }
        self.init(token: token, logprob: lp(token), top: best.map { ($0, lp($0)) })
    }
}
