// The serving engine: the same tokens as plain generation, bit-identical outputs alone and among other
// requests (batch invariance), cancellation freeing the slot, the queue limit, prefix reuse, logprobs
// against an offline forward pass, and the text stream's UTF-8 and stop-string hold-back.

import Foundation
import Inference
import Models
import Tensors
import Testing
import Tokenizers

/// A small random GPT over GPT-2's vocabulary, so text round-trips through the real tokenizer.
func smallModel(type: WeightType = .f32) throws -> InferenceModel {
    let config = GPTConfig(vocabSize: 50257, contextLength: 128, embeddingSize: 64, layers: 2, heads: 4, dropout: 0)
    return try InferenceModel(GPTModel(config, seed: 7)).converted(to: type)
}

/// Runs a request to the end: its token ids, text, logprobs and finish reason.
func collect(_ handle: RequestHandle) async -> (ids: [Int], text: String, logprobs: [TokenLogprob], reason: FinishReason?, usage: Usage?) {
    var ids: [Int] = [], text = "", logprobs: [TokenLogprob] = [], reason: FinishReason?, usage: Usage?
    for await event in handle.events {
        switch event {
        case let .delta(t, tokens, lps): text += t; ids += tokens; logprobs += lps
        case let .finished(r, u): reason = r; usage = u
        case .prefilling: break
        }
    }
    return (ids, text, logprobs, reason, usage)
}

@Suite("Engine", .serialized)
struct EngineTests {
    static let gpt2 = try! Encoding.named("gpt2")

    @Test("greedy output equals plain generation")
    func equalsGenerate() async throws {
        let model = try smallModel()
        let engine = try Engine(model: model, encoding: Self.gpt2, maxBatch: 4, prefillChunk: 16)
        defer { engine.shutdown(drain: 0) }
        let prompt = Self.gpt2.encodeOrdinary("Every effort moves you toward the finish line, and then some more words to pass a chunk")
        let result = await collect(try engine.submit(GenerationRequest(prompt: prompt, maxTokens: 30, temperature: 0)))
        let plain = try model.generate(prompt: prompt, encoding: Self.gpt2, options: SamplingOptions(maxNewTokens: 30, temperature: 0))
        #expect(result.ids == plain.ids)
        #expect(result.text == plain.text)
        #expect(result.reason == .length)
        #expect(result.usage == Usage(promptTokens: prompt.count, completionTokens: 30, cachedPromptTokens: 0))
    }

    @Test("a request gives bit-identical tokens and logprobs alone and among 7 others", arguments: [WeightType.f32, .q8_0])
    func batchInvariance(_ type: WeightType) async throws {
        let model = try smallModel(type: type)
        let requests = (0..<8).map { i in
            GenerationRequest(prompt: Array((0..<(3 + 11 * i)).map { ($0 * 37 + i * 101) % 50000 }), maxTokens: 12 + 3 * i,
                              temperature: i % 2 == 0 ? 0 : 0.9, topK: i % 3 == 0 ? nil : 40, seed: UInt64(i), logprobs: 3)
        }
        var alone: [[Int]] = [], aloneLogprobs: [[TokenLogprob]] = []
        for r in requests {
            let engine = try Engine(model: model, encoding: Self.gpt2, maxBatch: 8, prefillChunk: 16)
            let result = await collect(try engine.submit(r))
            alone.append(result.ids)
            aloneLogprobs.append(result.logprobs)
            engine.shutdown(drain: 0)
        }
        let engine = try Engine(model: model, encoding: Self.gpt2, maxBatch: 8, prefillChunk: 16)
        defer { engine.shutdown(drain: 0) }
        let handles = try requests.map { try engine.submit($0) }
        var together: [[Int]] = [], togetherLogprobs: [[TokenLogprob]] = []
        for h in handles {
            let result = await collect(h)
            together.append(result.ids)
            togetherLogprobs.append(result.logprobs)
        }
        #expect(together == alone)
        #expect(togetherLogprobs == aloneLogprobs)
        #expect(together.enumerated().allSatisfy { $0.element.count == requests[$0.offset].maxTokens })
    }

    @Test("logprobs equal an offline forward pass")
    func logprobsMatchOffline() async throws {
        let model = try smallModel()
        let engine = try Engine(model: model, encoding: Self.gpt2, maxBatch: 2, prefillChunk: 16)
        defer { engine.shutdown(drain: 0) }
        let prompt = [464, 3290, 318, 257, 1332]
        let result = await collect(try engine.submit(GenerationRequest(prompt: prompt, maxTokens: 6, temperature: 0, logprobs: 5)))
        let all = prompt + result.ids
        let logits = model.forward(tokens: all, slots: Array(repeating: 0, count: all.count), positions: Array(all.indices),
                                   cache: KVSlots(slots: 1, config: model.config), logitsFor: Array(all.indices))
        let v = model.config.vocabSize
        for (i, lp) in result.logprobs.enumerated() {
            let row = logits[((prompt.count - 1 + i) * v)..<((prompt.count + i) * v)].map(Double.init)
            let top = row.max()!, logSum = top + log(row.reduce(0) { $0 + exp($1 - top) })
            #expect(abs(Double(lp.logprob) - (row[lp.token] - logSum)) < 1e-4)
            #expect(lp.top.count == 5 && lp.top[0].token == lp.token) // greedy picks the likeliest
            for alt in lp.top { #expect(abs(Double(alt.logprob) - (row[alt.token] - logSum)) < 1e-4) }
            let order = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }
            #expect(lp.top.map(\.token) == Array(order.prefix(5)))
        }
        // Ties go to the lower id; fewer candidates than asked for gives them all.
        #expect(TokenLogprob(logits: [1, 3, 3, 2, 3], token: 0, top: 2).top.map(\.token) == [1, 2])
        #expect(TokenLogprob(logits: [1, 3, 3, 2, 3], token: 0, top: 4).top.map(\.token) == [1, 2, 4, 3])
        #expect(TokenLogprob(logits: [0.5, -1], token: 1, top: 5).top.map(\.token) == [0, 1])
        #expect(TokenLogprob(logits: [0.5, -1], token: 1, top: 0).top.isEmpty)
    }

    @Test("cancelling frees the slot within a step; a cancelled queued request never touches a running one")
    func cancellation() async throws {
        let engine = try Engine(model: try smallModel(), encoding: Self.gpt2, maxBatch: 1, maxQueue: 4, prefillChunk: 16)
        defer { engine.shutdown(drain: 0) }
        let running = try engine.submit(GenerationRequest(prompt: [1, 2, 3], maxTokens: 120, temperature: 0))
        let queued = try engine.submit(GenerationRequest(prompt: [4, 5, 6], maxTokens: 5, temperature: 0))
        queued.cancel()
        var iterator = running.events.makeAsyncIterator()
        _ = await iterator.next()
        #expect(engine.activeCount == 1)
        running.cancel()
        var reason: FinishReason?
        while let event = await iterator.next() { if case let .finished(r, _) = event { reason = r } }
        #expect(reason == .cancelled)
        let queuedResult = await collect(queued)
        #expect(queuedResult.reason == .cancelled && queuedResult.ids.isEmpty)
        let deadline = Date().addingTimeInterval(2)
        while engine.activeCount > 0 && Date() < deadline { try await Task.sleep(nanoseconds: 1_000_000) }
        #expect(engine.activeCount == 0 && engine.queuedCount == 0)
    }

    @Test("beyond maxQueue waiting requests, submit refuses")
    func queueLimit() throws {
        let engine = try Engine(model: try smallModel(), encoding: Self.gpt2, maxBatch: 1, maxQueue: 1, prefillChunk: 16)
        defer { engine.shutdown(drain: 0) }
        let first = try engine.submit(GenerationRequest(prompt: [1, 2], maxTokens: 100, temperature: 0))
        let deadline = Date().addingTimeInterval(2)
        while engine.activeCount == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.001) }
        let handles = [first, try engine.submit(GenerationRequest(prompt: [1, 2], maxTokens: 100, temperature: 0))] // one waits
        #expect(throws: EngineError.self) { try engine.submit(GenerationRequest(prompt: [1], maxTokens: 5)) }
        handles.forEach { $0.cancel() }
        #expect(throws: EngineError.self) { try engine.submit(GenerationRequest(prompt: [1, 2], maxTokens: 200)) } // over the context
    }

    @Test("a prompt that starts like the slot's previous one reuses its aligned chunks, with the same output")
    func prefixReuse() async throws {
        let engine = try Engine(model: try smallModel(), encoding: Self.gpt2, maxBatch: 1, prefillChunk: 16)
        defer { engine.shutdown(drain: 0) }
        let prompt = Array(100..<140)
        let first = await collect(try engine.submit(GenerationRequest(prompt: prompt, maxTokens: 8, temperature: 0)))
        let second = await collect(try engine.submit(GenerationRequest(prompt: prompt, maxTokens: 8, temperature: 0)))
        #expect(first.usage?.cachedPromptTokens == 0)
        #expect(second.usage?.cachedPromptTokens == 32) // two whole chunks of 16; the rest is recomputed
        #expect(second.ids == first.ids)
    }

    @Test("stop strings are never sent, even across tokens; characters are never split")
    func textStream() throws {
        let gpt2 = Self.gpt2
        func run(_ text: String, stops: [String]) throws -> (deltas: [String], stopped: Bool) {
            var stream = TextStream(encoding: gpt2, stopStrings: stops)
            var deltas: [String] = []
            for token in gpt2.encodeOrdinary(text) { deltas.append(try stream.add(token)) }
            if !stream.stopped { deltas.append(stream.finish()) }
            return (deltas, stream.stopped)
        }
        // "###" is split over tokens ("##" + "#"): nothing of it, nor what follows, is sent.
        let (deltas, stopped) = try run("Answer: yes.\n### Instruction: more", stops: ["###"])
        #expect(stopped && deltas.joined() == "Answer: yes.\n")
        #expect(deltas.allSatisfy { !$0.contains("#") })
        // A held-back prefix is released when the stop string does not follow.
        let (d2, s2) = try run("a ## b # c", stops: ["###"])
        #expect(!s2 && d2.joined() == "a ## b # c")
        // Emoji and CJK split over byte-level tokens arrive whole.
        let text = "🙂 naïve 東京 👩‍👩‍👧"
        let (d3, _) = try run(text, stops: [])
        #expect(d3.joined() == text)
        #expect(gpt2.encodeOrdinary("🙂").count > 1) // the test needs a character spread over tokens
        for d in d3 { #expect(String(decoding: Array(d.utf8), as: UTF8.self) == d && !d.contains("\u{FFFD}")) }
    }
}
