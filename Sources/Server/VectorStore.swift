// A retrieval index (`llm index build`) served beside a chat model as one read-only OpenAI vector store
// (`llm serve --model CHAT_DIR --index INDEX`):
//
//   GET  /v1/vector_stores, /v1/vector_stores/{id}   the store: its id (the index file's name), chunks, bytes
//   POST /v1/vector_stores/{id}/search                {query, max_num_results, filters, ranking_options} → chunks
//   POST /v1/chat/completions + "file_search": {"vector_store_ids": [id], "max_num_results": k}
//        retrieval-augmented generation, as `llm ask`: the last user message becomes the question over the
//        numbered sources (Inference/Retrieval/RetrievalPrompt); the response, or a stream's first chunk, carries
//        "sources" [{id, score, text, source}]
//
// Search results are OpenAI's page {object: "vector_store.search_results.page", search_query, data: [{file_id,
// filename, score, attributes, content: [{type: "text", text}]}], has_more, next_page}: file_id is the chunk's
// source, attributes its JSONL metadata (scalar values) with its chunk_id, start and end. Filters are OpenAI's
// comparison filters (eq, ne, gt, gte, lt, lte, in, nin on an attribute) and compound ones (and, or); with a filter
// every chunk is scored (exact search), else the index's graph is used when it has one.

import Formats
import Foundation
import Hummingbird
import Inference

public final class VectorStore: @unchecked Sendable { // the index is read-only here; embedding is serialised by `lock`
    public let id: String
    let index: VectorIndex
    let embedder: SentenceTransformer
    let usageBytes: Int
    let created = Int(Date().timeIntervalSince1970)
    public var chunkCount: Int { index.count }
    private let lock = NSLock()

    public init(id: String, index: VectorIndex, embedder: SentenceTransformer, usageBytes: Int) {
        (self.id, self.index, self.embedder, self.usageBytes) = (id, index, embedder, usageBytes)
    }

    var object: [String: Any] {
        let files = Set(index.chunks.map { $0.source.split(separator: ":").first.map(String.init) ?? $0.source }).count
        return ["id": id, "object": "vector_store", "created_at": created, "name": id, "usage_bytes": usageBytes, "status": "completed",
                "file_counts": ["in_progress": 0, "completed": files, "failed": 0, "cancelled": 0, "total": files],
                "last_active_at": created, "expires_after": NSNull(), "expires_at": NSNull(), "metadata": [String: Any]()]
    }

    /// The best `limit` chunks over all `queries` (a chunk found by several keeps its best score), best first.
    func search(_ queries: [String], limit: Int, threshold: Double?, filter: AttributeFilter?) -> [(chunk: Int, score: Float)] {
        let vectors = lock.withLock { embedder.embed(queries) }
        let lists = filter == nil ? index.search(vectors, topK: limit, ef: max(64, limit)) : index.search(vectors, topK: index.count)
        var best: [Int: Float] = [:]
        for list in lists {
            for hit in list {
                let kept = filter?.matches(attributes(index.chunks[hit.chunk])) ?? true
                if kept && Double(hit.score) >= (threshold ?? -.infinity) { best[hit.chunk] = max(best[hit.chunk] ?? -.infinity, hit.score) }
            }
        }
        let ranked: [(chunk: Int, score: Float)] = best.map { (chunk: $0.key, score: $0.value) }
            .sorted { $0.score != $1.score ? $0.score > $1.score : $0.chunk < $1.chunk }
        return Array(ranked.prefix(limit))
    }

    /// A chunk's attributes as OpenAI's results carry them: its scalar metadata, its id and byte range.
    func attributes(_ c: IndexedChunk) -> [String: Any] {
        c.metadata.filter { $0.value is String || $0.value is NSNumber }.merging(["chunk_id": c.id, "start": c.start, "end": c.end]) { _, ours in ours }
    }

    func result(_ hit: (chunk: Int, score: Float)) -> [String: Any] {
        let c = index.chunks[hit.chunk]
        return ["file_id": c.source, "filename": URL(fileURLWithPath: c.source).lastPathComponent, "score": Double(hit.score),
                "attributes": attributes(c), "content": [["type": "text", "text": c.text]]]
    }

    func source(_ hit: (chunk: Int, score: Float)) -> [String: Any] {
        let c = index.chunks[hit.chunk]
        return ["id": c.id, "score": Double(hit.score), "text": c.text, "source": c.source]
    }
}

/// The sources a file_search answer read, carried into the response's (Sendable) chunk builders: JSON values, read only.
struct RetrievedSources: @unchecked Sendable {
    let list: [[String: Any]]?
}

/// OpenAI's vector-store filters: a comparison on one attribute, or several joined by and / or.
indirect enum AttributeFilter {
    case compare(key: String, type: String, value: Any)
    case all([AttributeFilter]), any([AttributeFilter])

    init(_ json: Any?, param: String = "filters") throws {
        guard let o = json as? [String: Any], let type = o["type"] as? String else {
            throw APIError.invalid("\(param) must be an object with a type.", param: param)
        }
        switch type {
        case "and", "or":
            guard let list = o["filters"] as? [Any], !list.isEmpty else { throw APIError.invalid("\(param).filters must be a non-empty list.", param: param) }
            let parts = try list.enumerated().map { try AttributeFilter($1, param: "\(param).filters[\($0)]") }
            self = type == "and" ? .all(parts) : .any(parts)
        case "eq", "ne", "gt", "gte", "lt", "lte", "in", "nin":
            guard let key = o["key"] as? String, let value = o["value"] else {
                throw APIError.invalid("\(param) needs a key (string) and a value.", param: param)
            }
            if ["in", "nin"].contains(type), !(value is [Any]) { throw APIError.invalid("\(param).value must be a list for \(type).", param: param) }
            if ["gt", "gte", "lt", "lte"].contains(type), !(value is NSNumber) || RequestFields.isBool(value) {
                throw APIError.invalid("\(param).value must be a number for \(type).", param: param)
            }
            self = .compare(key: key, type: type, value: value)
        default:
            throw APIError.invalid("\(param).type must be eq, ne, gt, gte, lt, lte, in, nin, and or or.", param: param)
        }
    }

    func matches(_ attributes: [String: Any]) -> Bool {
        switch self {
        case let .all(parts): return parts.allSatisfy { $0.matches(attributes) }
        case let .any(parts): return parts.contains { $0.matches(attributes) }
        case let .compare(key, type, value):
            guard let actual = attributes[key] else { return type == "ne" || type == "nin" }
            func equal(_ a: Any, _ b: Any) -> Bool {
                if let x = a as? String, let y = b as? String { return x == y }
                if let x = a as? NSNumber, let y = b as? NSNumber { return RequestFields.isBool(x) == RequestFields.isBool(y) && x == y }
                return false
            }
            switch type {
            case "eq": return equal(actual, value)
            case "ne": return !equal(actual, value)
            case "in": return (value as! [Any]).contains { equal(actual, $0) }
            case "nin": return !(value as! [Any]).contains { equal(actual, $0) }
            default:
                guard let a = (actual as? NSNumber)?.doubleValue, !RequestFields.isBool(actual), let b = (value as? NSNumber)?.doubleValue else { return false }
                return type == "gt" ? a > b : type == "gte" ? a >= b : type == "lt" ? a < b : a <= b
            }
        }
    }
}

extension OpenAIServer {
    func addVectorStore(to router: Router<some RequestContext>) {
        router.get("/v1/vector_stores") { _, _ in
            let stores = self.store.map { [$0.object] } ?? []
            let id: Any = self.store?.id ?? NSNull()
            return jsonResponse(["object": "list", "data": stores, "first_id": id, "last_id": id, "has_more": false])
        }
        router.get("/v1/vector_stores/{id}") { _, context in try jsonResponse(self.vectorStore(context.parameters.get("id")).object) }
        router.post("/v1/vector_stores/{id}/search") { request, context in
            let store = try self.vectorStore(context.parameters.get("id"))
            var request = request
            let f = try RequestFields(try await request.collectBody(upTo: ServerLimits.maxBodyBytes))
            let queries: [String]
            if let q = f["query"] as? String { queries = [q] } else if let q = f["query"] as? [String], !q.isEmpty { queries = q } else {
                throw APIError.invalid("query must be a string or a non-empty list of strings.", param: "query")
            }
            guard queries.allSatisfy({ !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) else {
                throw APIError.invalid("query must not be empty or only whitespace.", param: "query")
            }
            let limit = try f.int("max_num_results", in: 1...50, "a whole number from 1 to 50") ?? 10
            if try f.bool("rewrite_query") == true { throw APIError.invalid("rewrite_query is not offered: queries are searched as given.", param: "rewrite_query") }
            let filter = try f.has("filters") ? AttributeFilter(f["filters"]) : nil
            var threshold: Double?
            if let ranking = f["ranking_options"] {
                guard let o = ranking as? [String: Any] else { throw APIError.invalid("ranking_options must be an object.", param: "ranking_options") }
                if let t = o["score_threshold"] {
                    guard let n = t as? NSNumber, !RequestFields.isBool(t), (0...1).contains(n.doubleValue) else {
                        throw APIError.invalid("ranking_options.score_threshold must be a number from 0 to 1.", param: "ranking_options.score_threshold")
                    }
                    threshold = n.doubleValue
                }
            }
            let hits = store.search(queries, limit: limit, threshold: threshold, filter: filter)
            return jsonResponse(["object": "vector_store.search_results.page", "search_query": queries, "data": hits.map(store.result),
                                 "has_more": false, "next_page": NSNull()])
        }
    }

    private func vectorStore(_ id: String?) throws -> VectorStore {
        guard let store, store.id == id else {
            throw APIError.notFound("No vector store '\(id ?? "")'" + (store.map { "; this server has '\($0.id)'." } ?? "; this server has none (llm serve --index INDEX)."),
                                    code: "vector_store_not_found")
        }
        return store
    }

    /// `file_search` on a chat request: the sources for its last user message and the messages with that message
    /// rewritten as the question over them; nil without the field.
    func retrieval(_ f: RequestFields, messages: [ChatTemplate.Message]) throws -> (sources: [[String: Any]], messages: [ChatTemplate.Message])? {
        guard f.has("file_search") else { return nil }
        guard let o = f["file_search"] as? [String: Any], let ids = o["vector_store_ids"] as? [String], ids.count == 1 else {
            throw APIError.invalid("file_search must be {\"vector_store_ids\": [one id], \"max_num_results\": k}.", param: "file_search")
        }
        let store = try vectorStore(ids[0])
        var limit = 4
        if let k = o["max_num_results"] {
            guard let n = k as? NSNumber, !RequestFields.isBool(k), n.doubleValue == n.doubleValue.rounded(), (1...50).contains(n.intValue) else {
                throw APIError.invalid("file_search.max_num_results must be a whole number from 1 to 50.", param: "file_search.max_num_results")
            }
            limit = n.intValue
        }
        guard let last = messages.lastIndex(where: { $0.role == "user" }),
              !messages[last].content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw APIError.invalid("file_search needs a user message with a question.", param: "messages")
        }
        let hits = store.search([messages[last].content], limit: limit, threshold: nil, filter: nil)
        var rewritten = messages
        rewritten[last] = .init(role: "user", content: RetrievalPrompt.message(question: messages[last].content,
                                                                               sources: hits.map { store.index.chunks[$0.chunk].text }))
        return (hits.map(store.source), rewritten)
    }
}
