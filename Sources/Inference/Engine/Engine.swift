// The serving engine: continuous batching over preallocated KV slots, with no HTTP in sight, so any
// Swift program can embed it (the `Server` target puts the OpenAI API in front of it).
//
// One engine thread runs this loop:
//   1. admit queued requests into free slots (up to maxBatch), reusing a slot whose cache already holds
//      the start of the prompt; drop cancelled requests (queued ones never touch the running ones);
//   2. one forward pass over a row per decoding sequence — every sequence shares each read of the
//      weights — plus the next prompt chunks of waiting sequences while the pass stays within
//      InferenceModel.batchInvariantRows rows (a short prompt starts at once, beside the running streams);
//      then sample each sequence whose logits came out;
//   3. one prompt chunk that did not fit runs in a pass of its own (at most prefillChunk tokens), so a
//      long prompt never stalls the running streams for more than a chunk.
// Requests join and leave between steps; a cancelled request (client gone, Stop pressed) leaves its slot
// at the next step.
//
// Batch invariance — a request's tokens do not depend on what else runs: a shared pass has at most
// InferenceModel.batchInvariantRows rows, where every product runs a fixed per-row order and attention runs
// per slot (InferenceModel.swift), and a pass with more rows holds one prompt chunk alone; a prompt is
// prefilled in chunks aligned to multiples of prefillChunk from position 0 whatever else is running; and a
// cached prefix is reused only in whole aligned chunks that were themselves prefilled (positions computed
// while decoding went through other kernels, so reusing them would change the numbers). Sampling draws
// from each request's own seeded generator. So at temperature 0, or with a seed, a request gives
// bit-identical output alone or among others (tested).

import Foundation
import Models
import Tensors
import Tokenizers

/// What an embedding program may want to observe (the server feeds Prometheus from it).
public protocol EngineObserver: AnyObject, Sendable {
    func requestStarted(promptTokens: Int, cachedTokens: Int)
    func firstToken(after seconds: Double)
    func interToken(_ seconds: Double)
    func requestFinished(_ reason: FinishReason, completionTokens: Int)
}

public final class Engine: @unchecked Sendable { // shared state behind `condition`; the rest is the engine thread's
    public let model: InferenceModel
    public let encoding: Encoding
    public let maxBatch: Int, maxQueue: Int, prefillChunk: Int
    public var contextLength: Int { model.config.contextLength }
    public weak var observer: EngineObserver?

    private let cache: KVSlots
    private let condition = NSCondition()
    private var queue: [Sequence] = []
    private var running: [Sequence] = []   // read under `condition` by counts; changed by the engine thread under it
    private var accepting = true, quit = false
    private var nextID = 0
    private var thread: Thread?
    /// Per slot: leading positions computed by whole aligned prefill chunks (reusable as they are).
    private var reusable: [Int]

    /// - maxBatch: sequences decoded together (each gets a KV slot, allocated on first use), at most 16.
    /// - maxQueue: requests waiting beyond those; more are refused (EngineError.queueFull).
    /// - prefillChunk: prompt tokens per prefill step.
    public init(model: InferenceModel, encoding: Encoding, maxBatch: Int = 8, maxQueue: Int = 64, prefillChunk: Int = 128) throws {
        guard maxBatch >= 1 && maxBatch <= 16 else {
            throw EngineError(kind: .invalidRequest, description: "the batch holds 1 to 16 sequences (the row kernels' limit), not \(maxBatch)")
        }
        self.model = model
        self.encoding = encoding
        self.maxBatch = maxBatch
        self.maxQueue = maxQueue
        self.prefillChunk = max(1, prefillChunk)
        cache = KVSlots(slots: maxBatch, config: model.config)
        reusable = Array(repeating: 0, count: maxBatch)
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "llm-engine"
        self.thread = thread
        thread.start()
    }

    /// Sequences decoding or prefilling now, and requests waiting for a slot.
    public var activeCount: Int { condition.withLock { running.count } }
    public var queuedCount: Int { condition.withLock { queue.count } }

    /// Queues a request. Throws when it cannot fit the context, when maxQueue requests already wait, or
    /// after shutdown began.
    public func submit(_ request: GenerationRequest) throws -> RequestHandle {
        guard !request.prompt.isEmpty else { throw EngineError(kind: .invalidRequest, description: "the prompt is empty") }
        guard request.maxTokens >= 1 else { throw EngineError(kind: .invalidRequest, description: "max_tokens must be at least 1") }
        guard request.prompt.count + request.maxTokens <= contextLength else {
            throw EngineError(kind: .invalidRequest, description: "the prompt (\(request.prompt.count) tokens) plus max_tokens " +
                              "(\(request.maxTokens)) exceed the model's context of \(contextLength) tokens")
        }
        guard request.prompt.allSatisfy({ $0 >= 0 && $0 < model.config.vocabSize }) else {
            throw EngineError(kind: .invalidRequest, description: "prompt token ids must be in 0..<\(model.config.vocabSize)")
        }
        let (stream, continuation) = AsyncStream.makeStream(of: GenerationEvent.self, bufferingPolicy: .unbounded)
        let flag = CancelFlag()
        continuation.onTermination = { _ in flag.set() } // the consumer went away: free the slot
        return try condition.withLock {
            guard accepting else { throw EngineError(kind: .shuttingDown, description: "the server is shutting down") }
            // Refused only when it would wait behind more than maxQueue others that cannot get a slot either.
            guard running.count + queue.count < maxBatch + maxQueue else {
                throw EngineError(kind: .queueFull, description: "\(queue.count) requests are already waiting; try again later")
            }
            nextID += 1
            let sequence = Sequence(id: nextID, request: request, continuation: continuation, flag: flag, encoding: encoding)
            queue.append(sequence)
            condition.signal()
            return RequestHandle(id: nextID, events: stream, flag: flag)
        }
    }

    /// Stops accepting requests, lets running and queued ones finish for up to `drain` seconds, cancels
    /// whatever is left, and stops the engine thread.
    public func shutdown(drain: Double = 10) {
        condition.withLock { accepting = false }
        let deadline = Date().addingTimeInterval(drain)
        while Date() < deadline && busy { Thread.sleep(forTimeInterval: 0.01) }
        stopThread()
    }

    /// The same from async code (the server's graceful shutdown), sleeping without holding a thread.
    public func drain(seconds: Double) async {
        condition.withLock { accepting = false }
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline && busy { try? await Task.sleep(nanoseconds: 10_000_000) }
        stopThread()
    }

    private var busy: Bool { condition.withLock { !running.isEmpty || !queue.isEmpty } }

    private func stopThread() {
        condition.withLock {
            quit = true
            condition.signal()
        }
        while thread?.isFinished == false { Thread.sleep(forTimeInterval: 0.002) }
    }

    // MARK: The engine thread

    private func loop() {
        while true {
            condition.lock()
            while !quit && queue.isEmpty && running.isEmpty { condition.wait() }
            if quit {
                let left = queue + running
                queue = []
                running = []
                condition.unlock()
                for s in left { s.finish(.cancelled, observer: observer) }
                return
            }
            admit()
            condition.unlock()
            step()
        }
    }

    /// Moves queued requests into free slots (called with the lock held).
    private func admit() {
        queue.removeAll { s in
            guard s.flag.isSet else { return false }
            s.finish(.cancelled, observer: observer)
            return true
        }
        while running.count < maxBatch, !queue.isEmpty {
            let s = queue.removeFirst()
            let busy = Set(running.map(\.slot))
            let free = (0..<maxBatch).filter { !busy.contains($0) }
            // The free slot holding the longest reusable start of this prompt (whole aligned chunks only).
            func reuse(_ slot: Int) -> Int {
                let shared = min(cache.sharedPrefix(slot, s.request.prompt), reusable[slot], s.request.prompt.count - 1)
                return shared / prefillChunk * prefillChunk
            }
            let slot = free.max { reuse($0) < reuse($1) }!
            let kept = reuse(slot)
            cache.truncate(slot, to: kept)
            reusable[slot] = kept
            s.start(slot: slot, cached: kept)
            observer?.requestStarted(promptTokens: s.request.prompt.count, cachedTokens: kept)
            running.append(s)
        }
    }

    private func step() {
        // Cancelled sequences leave before any work is spent on them.
        let cancelled = running.filter { $0.flag.isSet }
        if !cancelled.isEmpty {
            for s in cancelled { s.finish(.cancelled, observer: observer) }
            remove(cancelled)
        }
        let decoding = running.filter { $0.next != nil }
        var prefilling: [(Sequence, Range<Int>)] = [], rows = decoding.count, alone: (Sequence, Range<Int>)?
        for s in running where !s.pending.isEmpty {
            let chunk = nextChunk(s)
            if rows + chunk.count <= InferenceModel.batchInvariantRows {
                prefilling.append((s, chunk))
                rows += chunk.count
            } else if alone == nil {
                alone = (s, chunk)
            }
        }
        if rows > 0 { run(decoding, prefilling) }
        if let alone { run([], [alone]) }
    }

    /// The next prefill chunk of a waiting prompt: up to the next multiple of prefillChunk.
    private func nextChunk(_ s: Sequence) -> Range<Int> {
        let start = cache.length(s.slot)
        return start..<min(s.request.prompt.count, (start / prefillChunk + 1) * prefillChunk)
    }

    /// One forward pass: a row per decoding sequence, then the prompt chunks; samples where logits come out.
    private func run(_ decoding: [Sequence], _ prefilling: [(Sequence, Range<Int>)]) {
        var tokens = decoding.map { $0.next! }, slots = decoding.map(\.slot), positions = slots.map { cache.length($0) }
        var wanted = Array(decoding.indices), sampled = decoding
        for (s, chunk) in prefilling {
            tokens += s.request.prompt[chunk]
            slots += Array(repeating: s.slot, count: chunk.count)
            positions += Array(chunk)
            if chunk.upperBound == s.request.prompt.count {
                wanted.append(tokens.count - 1)
                sampled.append(s)
            }
        }
        let logits = model.forward(tokens: tokens, slots: slots, positions: positions, cache: cache, logitsFor: wanted)
        for (s, chunk) in prefilling {
            if chunk.count == prefillChunk && reusable[s.slot] == chunk.lowerBound { reusable[s.slot] = chunk.upperBound }
            s.pending = s.request.prompt[chunk.upperBound...]
            if !s.pending.isEmpty { s.continuation.yield(.prefilling(done: chunk.upperBound, total: s.request.prompt.count)) }
        }
        let v = model.config.vocabSize
        var done: [Sequence] = []
        for (i, s) in sampled.enumerated() {
            s.next = nil
            if s.accept(Array(logits[(i * v)..<((i + 1) * v)]), position: cache.length(s.slot), context: contextLength, observer: observer) {
                done.append(s)
            }
        }
        remove(done)
    }

    private func remove(_ done: [Sequence]) {
        guard !done.isEmpty else { return }
        let ids = Set(done.map(\.id))
        condition.withLock { running.removeAll { ids.contains($0.id) } }
    }
}

/// A request as the engine thread tracks it.
final class Sequence {
    let id: Int
    let request: GenerationRequest
    let continuation: AsyncStream<GenerationEvent>.Continuation
    let flag: CancelFlag
    var slot = -1
    /// Prompt tokens not prefilled yet.
    var pending: ArraySlice<Int> = []
    /// The sampled token to feed at the next decode step.
    var next: Int?
    var generated = 0
    var cached = 0
    private var generator: SeededGenerator
    private var text: TextStream
    private var heldTokens: [Int] = [], heldLogprobs: [TokenLogprob] = []
    private let submitted = Date()
    private var lastToken: Date?
    private var finished = false

    init(id: Int, request: GenerationRequest, continuation: AsyncStream<GenerationEvent>.Continuation, flag: CancelFlag, encoding: Encoding) {
        self.id = id
        self.request = request
        self.continuation = continuation
        self.flag = flag
        generator = SeededGenerator(seed: request.sampling.seed)
        text = TextStream(encoding: encoding, stopStrings: request.sampling.stopStrings)
    }

    func start(slot: Int, cached: Int) {
        self.slot = slot
        self.cached = cached
        pending = request.prompt[cached...]
    }

    /// Takes the logits for the next token (whose position would be `position`); returns true when finished.
    func accept(_ logits: [Float], position: Int, context: Int, observer: EngineObserver?) -> Bool {
        let token = sampleToken(logits, options: request.sampling, generator: &generator)
        let now = Date()
        if let lastToken { observer?.interToken(now.timeIntervalSince(lastToken)) } else { observer?.firstToken(after: now.timeIntervalSince(submitted)) }
        lastToken = now
        if request.sampling.stopTokens.contains(token) {
            finish(.stop, observer: observer)
            return true
        }
        generated += 1
        heldTokens.append(token)
        if let n = request.logprobs { heldLogprobs.append(TokenLogprob(logits: logits, token: token, top: n)) }
        let piece = (try? text.add(token)) ?? ""
        if text.stopped {
            flush(piece)
            finish(.stop, observer: observer)
            return true
        }
        if generated >= request.maxTokens || position + 1 >= context {
            flush(piece + text.finish())
            finish(.length, observer: observer)
            return true
        }
        if !piece.isEmpty { flush(piece) }
        next = token
        return false
    }

    private func flush(_ piece: String) {
        guard !piece.isEmpty || !heldTokens.isEmpty else { return }
        continuation.yield(.delta(text: piece, tokens: heldTokens, logprobs: heldLogprobs))
        heldTokens = []
        heldLogprobs = []
    }

    func finish(_ reason: FinishReason, observer: EngineObserver?) {
        guard !finished else { return }
        finished = true
        if reason != .cancelled { flush("") }
        continuation.yield(.finished(reason, Usage(promptTokens: request.prompt.count, completionTokens: generated,
                                                   cachedPromptTokens: cached)))
        continuation.finish()
        observer?.requestFinished(reason, completionTokens: generated)
    }
}
