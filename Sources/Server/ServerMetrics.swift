// GET /metrics: Prometheus text from swift-prometheus — requests by how they finished, active and queued
// sequences, prompt and generated tokens, time to first token and inter-token latency histograms. The
// engine reports events through EngineObserver; the gauges are read from the engine at scrape time.

import Foundation
import Inference
import Prometheus

final class ServerMetrics: EngineObserver, @unchecked Sendable { // thread-safe: swift-prometheus, plus `histograms`
    let registry = PrometheusCollectorRegistry()
    /// swift-prometheus's Histogram.emit reads the buckets without the lock its record() takes (ThreadSanitizer
    /// reported the race: the engine thread recording a latency while /metrics is scraped), so ours serializes them.
    private let histograms = NSLock()
    private let finished: [FinishReason: Counter]
    private let httpRequests: Counter
    private let promptTokens: Counter, cachedTokens: Counter, generatedTokens: Counter
    private let active: Gauge, queued: Gauge
    private let firstTokenSeconds: ValueHistogram, interTokenSeconds: ValueHistogram
    private let embeddingRequests: Counter, embeddingInputs: Counter, embeddingTokens: Counter
    private let embeddingRounds: Gauge, embeddingServed: Gauge, embeddingQueued: Gauge

    init() {
        let registry = self.registry
        finished = Dictionary(uniqueKeysWithValues: [FinishReason.stop, .length, .cancelled].map {
            ($0, registry.makeCounter(name: "llm_requests_finished_total", labels: [("finish_reason", $0.rawValue)],
                                      help: "Generation requests finished, by reason (cancelled: client gone or stopped)"))
        })
        httpRequests = registry.makeCounter(name: "llm_http_requests_total", help: "HTTP requests received")
        promptTokens = registry.makeCounter(name: "llm_prompt_tokens_total", help: "Prompt tokens of started requests")
        cachedTokens = registry.makeCounter(name: "llm_prompt_tokens_cached_total", help: "Prompt tokens reused from a slot's cache")
        generatedTokens = registry.makeCounter(name: "llm_generation_tokens_total", help: "Tokens generated")
        active = registry.makeGauge(name: "llm_active_sequences", help: "Sequences holding a KV slot (prefilling or decoding)")
        queued = registry.makeGauge(name: "llm_queued_requests", help: "Requests waiting for a slot")
        firstTokenSeconds = registry.makeValueHistogram(name: "llm_time_to_first_token_seconds",
                                                        buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
                                                        help: "From submission to the first generated token")
        interTokenSeconds = registry.makeValueHistogram(name: "llm_inter_token_latency_seconds",
                                                        buckets: [0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56],
                                                        help: "Between consecutive tokens of one request")
        embeddingRequests = registry.makeCounter(name: "llm_embedding_requests_total", help: "Embedding requests accepted")
        embeddingInputs = registry.makeCounter(name: "llm_embedding_inputs_total", help: "Inputs (texts or token lists) embedded")
        embeddingTokens = registry.makeCounter(name: "llm_embedding_tokens_total", help: "Tokens read by the encoder for embeddings")
        embeddingRounds = registry.makeGauge(name: "llm_embedding_batches", help: "Rounds of batched forward passes run for embeddings")
        embeddingServed = registry.makeGauge(name: "llm_embedding_batched_requests", help: "Requests those rounds served (over rounds: requests per round)")
        embeddingQueued = registry.makeGauge(name: "llm_embedding_queued_requests", help: "Embedding requests waiting for the next round")
    }

    func httpRequest() { httpRequests.increment() }

    func embeddingRequest(inputs: Int, tokens: Int) {
        embeddingRequests.increment()
        embeddingInputs.increment(by: Int64(inputs))
        embeddingTokens.increment(by: Int64(tokens))
    }

    func embeddingText(passes: Int, served: Int, queued: Int) -> String {
        embeddingRounds.set(Double(passes))
        embeddingServed.set(Double(served))
        embeddingQueued.set(Double(queued))
        return histograms.withLock { registry.emitToString() }
    }

    func requestStarted(promptTokens n: Int, cachedTokens cached: Int) {
        promptTokens.increment(by: Int64(n))
        cachedTokens.increment(by: Int64(cached))
    }
    func firstToken(after seconds: Double) { histograms.withLock { firstTokenSeconds.record(seconds) } }
    func interToken(_ seconds: Double) { histograms.withLock { interTokenSeconds.record(seconds) } }
    func requestFinished(_ reason: FinishReason, completionTokens: Int) {
        finished[reason]?.increment()
        generatedTokens.increment(by: Int64(completionTokens))
    }

    func text(engine: Engine) -> String {
        active.set(Double(engine.activeCount))
        queued.set(Double(engine.queuedCount))
        return histograms.withLock { registry.emitToString() }
    }
}
