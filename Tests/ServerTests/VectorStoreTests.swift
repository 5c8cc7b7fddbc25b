// A retrieval index served as an OpenAI vector store beside a chat model: the store's objects, search in OpenAI's
// page shape (a chunk's own text finds it first, at cosine 1), max_num_results, filters and the score threshold,
// errors, and chat with file_search: the sources in the response and the stream, and the answer equal to a chat on
// the prompt `llm ask` builds.

import Formats
import Foundation
import Inference
import Server
import Testing

@Suite("Vector store")
struct VectorStoreTests {
    static let records = ["The cat sat on the mat.", "Dogs run in the park.", "Le chat dort sur le canapé.", "Rain falls on the hills.",
                        "Le chien court dans le parc."]

    static func store() throws -> (VectorStore, SentenceTransformer) {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tiny-bert").path
        let embedder = try SentenceTransformer(directory: directory)
        let index = VectorIndex(embedder: embedder.identity(directory: directory), settings: [:], dimension: embedder.dimension)
        index.add(records.enumerated().map { i, t in
            IndexedChunk(id: "r\(i)", source: "notes.jsonl:\(i + 1)", start: 0, end: t.utf8.count, text: t,
                         metadata: ["lang": t.hasPrefix("Le") ? "fr" : "en", "year": 2020 + i, "tags": ["x"]])
        }, vectors: embedder.embed(records))
        return (VectorStore(id: "notes", index: index, embedder: embedder, usageBytes: 1234), embedder)
    }

    @Test("the store's objects, search as OpenAI's page, filters, threshold, errors")
    func search() async throws {
        let s = try await TestServer(store: try Self.store().0)
        defer { Task { await s.stop() } }
        let list = try await s.send("GET", "/v1/vector_stores")
        #expect(list.status == 200 && (list.json["data"] as? [[String: Any]])?.first?["id"] as? String == "notes")
        let one = try await s.send("GET", "/v1/vector_stores/notes")
        #expect(one.json["object"] as? String == "vector_store" && one.json["usage_bytes"] as? Int == 1234)
        #expect((one.json["file_counts"] as? [String: Any])?["completed"] as? Int == 1, "five records of one file")
        let missing = try await s.send("GET", "/v1/vector_stores/other")
        #expect(missing.status == 404 && (missing.json["error"] as? [String: Any])?["code"] as? String == "vector_store_not_found")

        let page = try await s.post("/v1/vector_stores/notes/search", ["query": Self.records[3], "max_num_results": 3])
        #expect(page.status == 200 && page.json["object"] as? String == "vector_store.search_results.page")
        #expect(page.json["search_query"] as? [String] == [Self.records[3]] && page.json["has_more"] as? Bool == false)
        let data = page.json["data"] as? [[String: Any]] ?? []
        #expect(data.count == 3)
        #expect(((data.first?["content"] as? [[String: Any]])?.first?["text"] as? String) == Self.records[3])
        #expect(abs((data.first?["score"] as? Double ?? 0) - 1) < 1e-4 && data.first?["file_id"] as? String == "notes.jsonl:4")
        let attributes = data.first?["attributes"] as? [String: Any] ?? [:]
        #expect(attributes["lang"] as? String == "en" && attributes["chunk_id"] as? String == "r3" && attributes["tags"] == nil,
                "scalar metadata only, with the chunk's id")
        let scores = data.map { $0["score"] as? Double ?? 0 }
        #expect(scores == scores.sorted(by: >))

        func ids(_ body: [String: Any]) async throws -> [String] {
            let r = try await s.post("/v1/vector_stores/notes/search", body)
            return (r.json["data"] as? [[String: Any]] ?? []).compactMap { ($0["attributes"] as? [String: Any])?["chunk_id"] as? String }
        }
        #expect(try await Set(ids(["query": "cat", "filters": ["type": "eq", "key": "lang", "value": "fr"]])) == ["r2", "r4"])
        #expect(try await Set(ids(["query": "cat", "filters": ["type": "or", "filters": [["type": "gte", "key": "year", "value": 2023],
                                                                                         ["type": "in", "key": "lang", "value": ["zz"]]]]])) == ["r3", "r4"])
        #expect(try await Set(ids(["query": "cat", "filters": ["type": "and", "filters": [["type": "ne", "key": "lang", "value": "fr"],
                                                                                          ["type": "lt", "key": "year", "value": 2021]]]])) == ["r0"])
        #expect(try await ids(["query": Self.records[1], "ranking_options": ["score_threshold": 0.9999]]) == ["r1"])
        #expect(try await ids(["query": [Self.records[0], Self.records[4]], "max_num_results": 2]).sorted() == ["r0", "r4"], "each query's own best")

        for (body, param) in [(["query": " "], "query"), (["query": "x", "max_num_results": 51], "max_num_results"),
                              (["query": "x", "filters": ["type": "like", "key": "a", "value": 1]], "filters"),
                              (["query": "x", "filters": ["type": "gt", "key": "year", "value": "2020"]], "filters"),
                              (["query": "x", "ranking_options": ["score_threshold": 2]], "ranking_options.score_threshold"),
                              (["query": "x", "rewrite_query": true], "rewrite_query")] as [([String: Any], String)] {
            let r = try await s.post("/v1/vector_stores/notes/search", body)
            #expect(r.status == 400 && (r.json["error"] as? [String: Any])?["param"] as? String == param, "\(body)")
        }
    }

    @Test("chat with file_search: the sources, streamed too, and the answer the retrieval prompt gives")
    func fileSearch() async throws {
        let s = try await TestServer(store: try Self.store().0)
        defer { Task { await s.stop() } }
        let question = Self.records[1]
        let search = ["vector_store_ids": ["notes"], "max_num_results": 2] as [String: Any]
        let chat = try await s.post("/v1/chat/completions", ["messages": [["role": "user", "content": question]], "max_tokens": 8,
                                                             "temperature": 0, "file_search": search])
        #expect(chat.status == 200)
        let sources = chat.json["sources"] as? [[String: Any]] ?? []
        #expect(sources.count == 2 && sources.first?["id"] as? String == "r1" && sources.first?["text"] as? String == question)
        // The same answer as a plain chat on the prompt llm ask builds from those sources.
        let message = RetrievalPrompt.message(question: question, sources: sources.map { $0["text"] as! String })
        let plain = try await s.post("/v1/chat/completions", ["messages": [["role": "user", "content": message]], "max_tokens": 8, "temperature": 0])
        func content(_ r: TestServer.Reply) -> String? { ((r.json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String }
        #expect(content(chat) != nil && content(chat) == content(plain))
        let stream = try await s.post("/v1/chat/completions", ["messages": [["role": "user", "content": question]], "max_tokens": 8,
                                                               "temperature": 0, "stream": true, "file_search": search])
        let first = try JSONSerialization.jsonObject(with: Data(stream.events[0].utf8)) as? [String: Any]
        #expect((first?["sources"] as? [[String: Any]])?.count == 2 && texts(stream.events) == content(plain))
        for (field, param) in [(["vector_store_ids": ["other"]], ""), (["vector_store_ids": "notes"], "file_search"),
                               (["vector_store_ids": ["notes"], "max_num_results": 0], "file_search.max_num_results")] as [([String: Any], String)] {
            let r = try await s.post("/v1/chat/completions", ["messages": [["role": "user", "content": "x"]], "file_search": field])
            #expect(r.status == (param.isEmpty ? 404 : 400), "\(field)")
            if !param.isEmpty { #expect((r.json["error"] as? [String: Any])?["param"] as? String == param) }
        }
    }
}
