// Requests for embeddings share forward passes, as text-embeddings-inference batches them: each request's inputs
// join a queue, and one worker thread takes everything waiting, up to a budget of tokens, into one round of batched
// encoder passes (the rows of all those requests sorted by length, 64 to a pass, so the padding is small; each pass
// is one GEMM per layer over all its rows). A lone request runs at once; under load, requests that arrive while a
// round runs go into the next one together.

import Foundation
import Formats

final class EmbeddingBatcher: @unchecked Sendable { // the queue and the counters are used under `condition` alone
    struct Job {
        let ids: [[Int]]
        let done: @Sendable ([[Float]]) -> Void
        var tokens: Int { ids.reduce(0) { $0 + $1.count } }
    }

    let embedder: SentenceTransformer
    /// The most tokens one forward pass takes (more when a single request is larger: it still runs, alone).
    let tokenBudget: Int
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var paused = false
    /// Rounds run, and the requests they served: what /metrics reports.
    private(set) var passes = 0, served = 0

    init(embedder: SentenceTransformer, tokenBudget: Int = 16_384) {
        (self.embedder, self.tokenBudget) = (embedder, tokenBudget)
        let thread = Thread { [unowned self] in self.work() }
        thread.name = "llm-embeddings"
        thread.start()
    }

    /// The vectors of `ids` (each [CLS] … [SEP], within the model's length), in order.
    func embed(_ ids: [[Int]]) async -> [[Float]] {
        await withCheckedContinuation { continuation in
            condition.withLock {
                queue.append(Job(ids: ids) { continuation.resume(returning: $0) })
                condition.signal()
            }
        }
    }

    /// Holds the worker between passes (tests use it to queue requests deterministically), or lets it go.
    func pause(_ on: Bool) {
        condition.withLock {
            paused = on
            condition.signal()
        }
    }

    var queued: Int { condition.withLock { queue.count } }
    var counts: (passes: Int, served: Int) { condition.withLock { (passes, served) } }

    private func work() {
        while true {
            condition.lock()
            while queue.isEmpty || paused { condition.wait() }
            // Everything waiting, oldest first, while it fits the budget (the first job always goes).
            var jobs = [queue.removeFirst()], tokens = jobs[0].tokens
            while let next = queue.first, tokens + next.tokens <= tokenBudget {
                jobs.append(queue.removeFirst())
                tokens += next.tokens
            }
            condition.unlock()
            let rows = jobs.flatMap(\.ids)
            let vectors = embedder.embed(ids: rows, batchSize: 64)
            condition.withLock {
                passes += 1
                served += jobs.count
            }
            var start = 0
            for job in jobs {
                job.done(Array(vectors[start..<(start + job.ids.count)]))
                start += job.ids.count
            }
        }
    }
}
