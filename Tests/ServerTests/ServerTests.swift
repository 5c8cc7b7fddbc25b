// The OpenAI-compatible server over real loopback sockets (AsyncHTTPClient): both endpoints streamed and
// not, stop strings, usage, logprobs against an offline forward pass, batch invariance, disconnects freeing
// the slot (seen through /metrics), the queue limit, every error status, keys, CORS, tokenize, and a
// graceful shutdown that lets a running stream finish.

import AsyncHTTPClient
import Formats
import Foundation
import Hummingbird
import Inference
import Logging
import Models
import NIOCore
import Server
import ServiceLifecycle
import Testing
import Tokenizers

/// A server on a free loopback port, and a client for it.
final class TestServer: @unchecked Sendable {
    static let model: InferenceModel = {
        let config = GPTConfig(vocabSize: 50257, contextLength: 128, embeddingSize: 64, layers: 2, heads: 4, dropout: 0)
        return try! InferenceModel(GPTModel(config, seed: 7))
    }()
    /// Slower (about a millisecond a token) and with a long context: requests that are still running when
    /// the test looks.
    static let slowModel: InferenceModel = {
        let config = GPTConfig(vocabSize: 50257, contextLength: 1024, embeddingSize: 128, layers: 4, heads: 4, dropout: 0)
        return try! InferenceModel(GPTModel(config, seed: 8))
    }()
    static let gpt2 = try! Encoding.named("gpt2")

    let group: ServiceGroup
    let task: Task<Void, Error>
    let port: Int
    let client = HTTPClient(eventLoopGroupProvider: .singleton)

    init(model: InferenceModel = TestServer.model, maxBatch: Int = 8, maxQueue: Int = 16, store: VectorStore? = nil,
         configure: (inout ServerOptions) -> Void = { _ in }) async throws {
        let engine = try Engine(model: model, encoding: Self.gpt2, maxBatch: maxBatch, maxQueue: maxQueue, prefillChunk: 16)
        let options = Self.options(configure)
        (group, task, port) = await Self.start {
            OpenAIServer(engine: engine, options: options, store: store).application(logger: Self.logger, onRunning: $0)
        }
    }

    /// An encoder's server (EncoderServer) on `model`.
    init(encoder model: BERTForMaskedLM, tokenizer: WordPieceTokenizer, configure: (inout ServerOptions) -> Void = { _ in }) async throws {
        let options = Self.options(configure)
        (group, task, port) = await Self.start { EncoderServer(model: model, tokenizer: tokenizer, options: options).application(logger: Self.logger, onRunning: $0) }
    }

    /// A sentence-embedding server (EmbeddingServer) on `embedder`.
    init(embedder: SentenceTransformer, configure: (inout ServerOptions) -> Void = { _ in }) async throws {
        let options = Self.options(configure)
        let server = EmbeddingServer(embedder: embedder, options: options)
        embeddingServer = server
        (group, task, port) = await Self.start { server.application(logger: Self.logger, onRunning: $0) }
    }
    private(set) var embeddingServer: EmbeddingServer?

    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    static func options(_ configure: (inout ServerOptions) -> Void) -> ServerOptions {
        var options = ServerOptions(modelID: "tiny")
        options.port = 0
        options.drainSeconds = 20
        configure(&options)
        return options
    }

    /// Runs the application made by `make` (given the callback that learns the bound port) in a service group as
    /// `llm serve` runs it, so tests can trigger the graceful shutdown SIGTERM would.
    static func start(_ make: (@escaping @Sendable (Int) async -> Void) -> any Service) async -> (ServiceGroup, Task<Void, Error>, Int) {
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let group = ServiceGroup(configuration: .init(services: [make { portSink.yield($0) }], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        return (group, task, await iterator.next()!)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        try? await client.shutdown()
    }

    struct Reply {
        let status: Int
        let body: String
        let headers: [(String, String)]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:] }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        /// The `data:` payloads of a server-sent-event body.
        var events: [String] { body.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) } }
    }

    func send(_ method: String = "POST", _ path: String, _ body: String? = nil, headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .init(rawValue: method)
        request.headers.add(name: "content-type", value: "application/json")
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(60))
        let data = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), body: String(buffer: data), headers: response.headers.map { ($0.name, $0.value) })
    }

    func post(_ path: String, _ object: [String: Any], headers: [(String, String)] = []) async throws -> Reply {
        try await send("POST", path, String(data: try JSONSerialization.data(withJSONObject: object), encoding: .utf8)!, headers: headers)
    }

    /// The value of a metric line in /metrics.
    func metric(_ name: String) async throws -> Double? {
        let text = try await send("GET", "/metrics").body
        return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }
}

func texts(_ events: [String]) -> String {
    events.filter { $0 != "[DONE]" }.compactMap { e -> String? in
        guard let o = try? JSONSerialization.jsonObject(with: Data(e.utf8)) as? [String: Any],
              let choice = (o["choices"] as? [[String: Any]])?.first else { return nil }
        return (choice["text"] as? String) ?? ((choice["delta"] as? [String: Any])?["content"] as? String)
    }.joined()
}

@Suite("Server", .serialized)
struct ServerTests {
    @Test("models, health and completions, streamed and not, agree with offline generation")
    func completions() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        let models = try await s.send("GET", "/v1/models")
        #expect(models.status == 200 && ((models.json["data"] as? [[String: Any]])?.first?["id"] as? String) == "tiny")
        #expect(try await s.send("GET", "/v1/models/tiny").status == 200)
        #expect(try await s.send("GET", "/v1/models/other").status == 404)
        #expect(try await s.send("GET", "/health").status == 200)

        let prompt = "Every effort moves you"
        let plain = try await s.post("/v1/completions", ["model": "tiny", "prompt": prompt, "max_tokens": 20, "temperature": 0])
        #expect(plain.status == 200)
        let json = plain.json
        let choice = (json["choices"] as! [[String: Any]])[0]
        let offline = try TestServer.model.generate(prompt: TestServer.gpt2.encodeOrdinary(prompt), encoding: TestServer.gpt2,
                                                    options: SamplingOptions(maxNewTokens: 20, temperature: 0))
        #expect(choice["text"] as? String == offline.text)
        #expect(choice["finish_reason"] as? String == "length")
        #expect(json["object"] as? String == "text_completion" && (json["id"] as? String)?.hasPrefix("cmpl-") == true)
        #expect(json["system_fingerprint"] is String && json["created"] is Int)
        let usage = json["usage"] as! [String: Any]
        #expect(usage["prompt_tokens"] as? Int == 4 && usage["completion_tokens"] as? Int == 20 && usage["total_tokens"] as? Int == 24)

        // Streamed with a seed at temperature 0.9: the deltas add up to the same text as the plain response.
        let body: [String: Any] = ["prompt": prompt, "max_tokens": 25, "temperature": 0.9, "seed": 11]
        let once = try await s.post("/v1/completions", body)
        var streamed = body
        streamed["stream"] = true
        let stream = try await s.post("/v1/completions", streamed)
        #expect(stream.header("content-type") == "text/event-stream")
        let events = stream.events
        #expect(events.last == "[DONE]" && events.filter { $0 == "[DONE]" }.count == 1)
        #expect(texts(events) == ((once.json["choices"] as! [[String: Any]])[0]["text"] as! String))
        #expect(!events.dropLast().contains { $0.contains("\"usage\"") }, "no usage chunk unless asked for")
        streamed["stream_options"] = ["include_usage": true]
        let withUsage = try await s.post("/v1/completions", streamed).events
        let usageChunk = try JSONSerialization.jsonObject(with: Data(withUsage[withUsage.count - 2].utf8)) as! [String: Any]
        #expect((usageChunk["choices"] as? [Any])?.isEmpty == true && (usageChunk["usage"] as? [String: Any])?["completion_tokens"] as? Int == 25)
        // Token ids as the prompt; echo.
        let ids = try await s.post("/v1/completions", ["prompt": TestServer.gpt2.encodeOrdinary(prompt), "max_tokens": 20, "temperature": 0, "echo": true])
        #expect((ids.json["choices"] as! [[String: Any]])[0]["text"] as? String == prompt + offline.text)
    }

    @Test("chat completions, stop strings across tokens, logprobs equal to an offline forward pass")
    func chatStopAndLogprobs() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        let messages = [["role": "system", "content": "Be brief."], ["role": "user", "content": "Say something."]]
        let chat = try await s.post("/v1/chat/completions", ["messages": messages, "max_tokens": 12, "temperature": 0])
        #expect(chat.status == 200 && chat.json["object"] as? String == "chat.completion")
        let message = ((chat.json["choices"] as! [[String: Any]])[0]["message"] as! [String: Any])
        #expect(message["role"] as? String == "assistant")
        let full = message["content"] as! String
        let stream = try await s.post("/v1/chat/completions", ["messages": messages, "max_completion_tokens": 12, "temperature": 0, "stream": true])
        let events = stream.events
        let first = try JSONSerialization.jsonObject(with: Data(events[0].utf8)) as! [String: Any]
        #expect(((first["choices"] as! [[String: Any]])[0]["delta"] as? [String: Any])?["role"] as? String == "assistant")
        #expect(texts(events) == full && events.last == "[DONE]")

        // A stop string taken from the middle of the greedy text: the reply ends just before it.
        let plain = try await s.post("/v1/completions", ["prompt": "The", "max_tokens": 30, "temperature": 0])
        let text = (plain.json["choices"] as! [[String: Any]])[0]["text"] as! String
        let chars = Array(text)
        let stop = String(chars[(chars.count / 2)..<(chars.count / 2 + 3)])
        let expected = String(text[..<text.range(of: stop)!.lowerBound])
        for streamIt in [false, true] {
            let r = try await s.post("/v1/completions", ["prompt": "The", "max_tokens": 30, "temperature": 0, "stop": [stop], "stream": streamIt])
            let got = streamIt ? texts(r.events) : (r.json["choices"] as! [[String: Any]])[0]["text"] as! String
            #expect(got == expected, "stop \(stop.debugDescription), stream \(streamIt)")
        }

        // logprobs: the chosen tokens' log-probabilities against the model's own forward pass.
        let lp = try await s.post("/v1/completions", ["prompt": "The", "max_tokens": 5, "temperature": 0, "logprobs": 3])
        let lpChoice = (lp.json["choices"] as! [[String: Any]])[0]["logprobs"] as! [String: Any]
        let values = (lpChoice["token_logprobs"] as! [NSNumber]).map(\.doubleValue)
        let promptIDs = TestServer.gpt2.encodeOrdinary("The")
        let generated = TestServer.gpt2.encodeOrdinary(text).prefix(5)
        let all = promptIDs + generated
        let model = TestServer.model, v = model.config.vocabSize
        let logits = model.forward(tokens: Array(all), slots: Array(repeating: 0, count: all.count), positions: Array(all.indices),
                                   cache: KVSlots(slots: 1, config: model.config), logitsFor: Array(all.indices))
        for (i, value) in values.enumerated() {
            let row = logits[((promptIDs.count - 1 + i) * v)..<((promptIDs.count + i) * v)].map(Double.init)
            let top = row.max()!, logSum = top + log(row.reduce(0) { $0 + exp($1 - top) })
            #expect(abs(value - (row[Array(all)[promptIDs.count + i]] - logSum)) < 1e-4)
        }
        #expect((lpChoice["top_logprobs"] as! [[String: Any]]).allSatisfy { $0.count == 3 })
        let chatLP = try await s.post("/v1/chat/completions", ["messages": messages, "max_tokens": 3, "temperature": 0, "logprobs": true, "top_logprobs": 2])
        let content = (((chatLP.json["choices"] as! [[String: Any]])[0]["logprobs"] as! [String: Any])["content"] as! [[String: Any]])
        #expect(content.count == 3 && content.allSatisfy { $0["token"] is String && $0["bytes"] is [Int] && ($0["top_logprobs"] as? [Any])?.count == 2 })
    }

    @Test("concurrent requests get the same tokens as alone")
    func batchInvariance() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        let bodies: [[String: Any]] = (0..<8).map { i in
            ["prompt": String(repeating: "word \(i) ", count: 1 + 3 * i), "max_tokens": 10 + 4 * i, "temperature": 0.8, "seed": i]
        }
        var alone: [String] = []
        for b in bodies { alone.append(try await s.post("/v1/completions", b).body) }
        let encoded = try bodies.map { String(data: try JSONSerialization.data(withJSONObject: $0), encoding: .utf8)! }
        let together = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for (i, b) in encoded.enumerated() { group.addTask { (i, try await s.send("POST", "/v1/completions", b).body) } }
            var out = [String](repeating: "", count: bodies.count)
            for try await (i, body) in group { out[i] = body }
            return out
        }
        func text(_ body: String) -> String {
            let o = try! JSONSerialization.jsonObject(with: Data(body.utf8)) as! [String: Any]
            return (o["choices"] as! [[String: Any]])[0]["text"] as! String
        }
        #expect(together.map(text) == alone.map(text))
    }

    @Test("a client that disconnects frees its slot; beyond the queue the server answers 429")
    func disconnectAndQueue() async throws {
        let s = try await TestServer(model: TestServer.slowModel, maxBatch: 1, maxQueue: 0)
        defer { Task { await s.stop() } }
        let long = Task { try await s.post("/v1/completions", ["prompt": "Hello", "max_tokens": 1000, "temperature": 0, "stream": true]) }
        var deadline = Date().addingTimeInterval(10)
        while try await s.metric("llm_active_sequences") != 1 && Date() < deadline { try await Task.sleep(nanoseconds: 5_000_000) }
        #expect(try await s.metric("llm_active_sequences") == 1)
        let refused = try await s.post("/v1/completions", ["prompt": "Hi", "max_tokens": 5])
        #expect(refused.status == 429 && (refused.json["error"] as? [String: Any])?["code"] as? String == "rate_limit_exceeded")
        long.cancel() // the client goes away mid-stream
        deadline = Date().addingTimeInterval(10)
        while try await s.metric("llm_active_sequences") != 0 && Date() < deadline { try await Task.sleep(nanoseconds: 5_000_000) }
        #expect(try await s.metric("llm_active_sequences") == 0)
        #expect(try await s.send("GET", "/metrics").body.contains("llm_requests_finished_total{finish_reason=\"cancelled\"} 1"))
        #expect(try await s.post("/v1/completions", ["prompt": "Hi", "max_tokens": 5]).status == 200)
    }

    @Test("bad requests are 4xx in OpenAI's error shape, naming the field")
    func errors() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        func check(_ reply: TestServer.Reply, _ status: Int, param: String? = nil, contains: String? = nil) {
            let error = reply.json["error"] as? [String: Any]
            #expect(reply.status == status, "\(reply.body)")
            #expect(error?["message"] is String && error?["type"] is String && error?.keys.contains("param") == true && error?.keys.contains("code") == true)
            if let param { #expect(error?["param"] as? String == param, "\(reply.body)") }
            if let contains { #expect((error?["message"] as? String)?.contains(contains) == true, "\(reply.body)") }
        }
        check(try await s.send("POST", "/v1/completions", "{not json"), 400)
        check(try await s.post("/v1/completions", ["prompt": "x", "temperature": "hot"]), 400, param: "temperature")
        check(try await s.post("/v1/completions", ["prompt": "x", "temperature": 3]), 400, param: "temperature")
        check(try await s.post("/v1/completions", ["prompt": "x", "top_p": 0]), 400, param: "top_p")
        check(try await s.post("/v1/completions", ["prompt": "x", "top_k": -1]), 400, param: "top_k")
        check(try await s.post("/v1/completions", ["prompt": "x", "logprobs": 50]), 400, param: "logprobs")
        check(try await s.post("/v1/completions", ["prompt": "x", "max_tokens": true]), 400, param: "max_tokens")
        check(try await s.post("/v1/completions", ["prompt": "x", "n": 2]), 400, param: "n")
        check(try await s.post("/v1/completions", ["prompt": 5]), 400, param: "prompt")
        check(try await s.post("/v1/completions", ["max_tokens": 5]), 400, param: "prompt")
        check(try await s.post("/v1/completions", ["prompt": "x", "model": "gpt-4"]), 404)
        check(try await s.post("/v1/completions", ["prompt": "x", "max_tokens": 500]), 400, param: "max_tokens", contains: "500")
        check(try await s.post("/v1/chat/completions", ["messages": []]), 400, param: "messages")
        check(try await s.post("/v1/chat/completions", ["messages": [["role": "robot", "content": "hi"]]]), 400)
        check(try await s.send("POST", "/v1/completions", "{\"prompt\": \"" + String(repeating: "a", count: 5 << 20) + "\"}"), 413)
        check(try await s.send("GET", "/v1/nothing"), 404)
        check(try await s.post("/tokenize", ["text": "x", "encoding": "nope"]), 400, param: "encoding")
        // Nothing a client sends brings the server down.
        #expect(try await s.send("GET", "/health").status == 200)
    }

    @Test("keys, CORS, tokenize and detokenize")
    func keysCorsTokenize() async throws {
        let s = try await TestServer { $0.apiKeys = ["sekret", "other"]; $0.corsOrigin = "http://app.example" }
        defer { Task { await s.stop() } }
        #expect(try await s.send("GET", "/health").status == 200)
        #expect(try await s.send("GET", "/v1/models").status == 401)
        #expect(try await s.send("GET", "/v1/models", headers: [("authorization", "Bearer wrong")]).status == 401)
        #expect(try await s.send("GET", "/v1/models", headers: [("authorization", "Bearer sekret")]).status == 200)
        // The playground's files are static and need no key; what the page asks the server does.
        let page = try await s.send("GET", "/")
        #expect(page.status == 200 && page.header("content-type")?.hasPrefix("text/html") == true)
        #expect(page.body.contains("<link rel=\"stylesheet\" href=\"/playground.css\">") && page.body.contains("<script src=\"/playground.js\">"))
        let css = try await s.send("GET", "/playground.css"), js = try await s.send("GET", "/playground.js")
        #expect(css.status == 200 && css.header("content-type")?.hasPrefix("text/css") == true && css.body.contains("--accent"))
        #expect(js.status == 200 && js.header("content-type")?.hasPrefix("text/javascript") == true && js.body.contains("/playground/info"))
        #expect(try await s.send("GET", "/playground/info").status == 401)
        let auth = [("authorization", "Bearer other")]
        let preflight = try await s.send("OPTIONS", "/v1/completions", headers: [("origin", "http://app.example")])
        #expect(preflight.status == 204 && preflight.header("access-control-allow-origin") == "http://app.example")
        let foreign = try await s.send("GET", "/v1/models", headers: auth + [("origin", "http://evil.example")])
        #expect(foreign.header("access-control-allow-origin") == nil)
        for name in ["gpt2", "cl100k_base", "o200k_base"] {
            let text = "Hello, naïve 🙂 world"
            let r = try await s.post("/tokenize", ["text": text, "encoding": name], headers: auth)
            #expect((r.json["tokens"] as? [Int]) == (try Encoding.named(name).encode(text)))
            let back = try await s.post("/detokenize", ["tokens": r.json["tokens"]!, "encoding": name], headers: auth)
            #expect(back.json["text"] as? String == text)
        }
    }

    @Test("an encoder's server: its kind and [MASK] in /playground/info, fill-mask as the offline ranking, bidirectional attention, errors")
    func encoder() async throws {
        let words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "a", "dog", "."]
        let tokenizer = try WordPieceTokenizer(vocabulary: words, normalizer: BertNormalizer())
        var config = BERTConfig(vocabSize: words.count, hiddenSize: 16, layers: 2, heads: 2, intermediateSize: 32, maxPositions: 32)
        (config.hiddenDropout, config.attentionDropout) = (0, 0)
        let model = try BERTForMaskedLM(config, seed: 3)
        let s = try await TestServer(encoder: model, tokenizer: tokenizer)
        defer { Task { await s.stop() } }
        let info = try await s.send("GET", "/playground/info").json
        #expect(info["kind"] as? String == "encoder" && info["mask_token"] as? String == "[MASK]" && info["layers"] as? Int == 2)
        let text = "the [MASK] sat on the [MASK] ."
        let reply = try await s.post("/playground/fill-mask", ["text": text, "top_k": 3])
        #expect(reply.status == 200, "\(reply.body)")
        let masks = reply.json["masks"] as? [[[String: Any]]] ?? []
        let offline = try fillMask(model, tokenizer: tokenizer, ids: tokenizer.encode(text).ids, topK: 3)
        #expect(masks.count == 2 && masks.map { $0.map { $0["token"] as? Int } } == offline.map { $0.map(\.token) })
        #expect(masks.flatMap { $0 }.allSatisfy { ($0["sequence"] as? String)?.hasPrefix("the") == true })
        #expect((reply.json["tokens"] as? [String])?.first == "[CLS]")
        let attention = try await s.post("/playground/attention", ["text": "the cat sat", "layer": 1]).json
        let weights = attention["weights"] as? [[[Double]]] ?? []
        #expect(attention["causal"] as? Bool == false && weights.count == 2 && weights[0].count == 5)
        #expect(weights[0][0][4] > 0, "[CLS] attends to [SEP], after it")
        let noMask = try await s.post("/playground/fill-mask", ["text": "the cat"])
        #expect(noMask.status == 400 && ((noMask.json["error"] as? [String: Any])?["message"] as? String)?.contains("no [MASK]") == true)
        #expect(try await s.post("/playground/fill-mask", ["text": "the [MASK]", "top_k": 0]).status == 400)
        #expect(try await s.send("POST", "/v1/completions", "{}").status == 404, "an encoder generates nothing")
    }

    @Test("an embedding server: OpenAI's shape for every input form, the offline vectors, base64, shared rounds, errors, metrics")
    func embeddings() async throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tiny-bert").path
        let embedder = try SentenceTransformer(directory: directory)
        let s = try await TestServer(embedder: embedder)
        defer { Task { await s.stop() } }
        let texts = ["The cat sat on the mat.", "A longer second sentence, with more words in it than the first!"]
        let offline = embedder.embed(texts)
        func vectors(_ reply: TestServer.Reply) -> [[Double]] {
            (reply.json["data"] as? [[String: Any]] ?? []).map { $0["embedding"] as? [Double] ?? [] }
        }
        func close(_ a: [[Double]], _ b: [[Float]]) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { x, y in x.count == y.count && zip(x, y).allSatisfy { abs($0 - Double($1)) < 1e-6 } }
        }
        let one = try await s.post("/v1/embeddings", ["input": texts[0], "model": "tiny"])
        #expect(one.status == 200, "\(one.body)")
        #expect(one.json["object"] as? String == "list" && one.json["model"] as? String == "tiny")
        #expect(close(vectors(one), [offline[0]]))
        let usage = one.json["usage"] as? [String: Any]
        #expect(usage?["prompt_tokens"] as? Int == embedder.tokens(texts[0]).count && usage?["total_tokens"] as? Int == embedder.tokens(texts[0]).count)
        let two = try await s.post("/v1/embeddings", ["input": texts])
        #expect(close(vectors(two), offline), "a list of texts, in order")
        #expect((two.json["data"] as? [[String: Any]])?.map { $0["index"] as? Int } == [0, 1])
        // Token ids are the text's WordPiece ids without [CLS] and [SEP], which the server adds.
        let ids = texts.map { Array(embedder.tokenizer.encode($0).ids.dropFirst().dropLast()) }
        #expect(close(vectors(try await s.post("/v1/embeddings", ["input": ids[0]])), [offline[0]]), "one list of token ids")
        #expect(close(vectors(try await s.post("/v1/embeddings", ["input": ids])), offline), "a list of token-id lists")
        let encoded = try await s.post("/v1/embeddings", ["input": texts[1], "encoding_format": "base64", "dimensions": embedder.dimension])
        let base64 = (encoded.json["data"] as? [[String: Any]])?.first?["embedding"] as? String ?? ""
        let floats = Data(base64Encoded: base64).map { data in
            stride(from: 0, to: data.count, by: 4).map { i in Float(bitPattern: data[i..<(i + 4)].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) }) }
        } ?? []
        #expect(floats == offline[1], "base64: the float32 values, little-endian")

        // Requests that arrive while the batcher is held meet in one round.
        let (rounds, served) = (try await s.metric("llm_embedding_batches") ?? 0, try await s.metric("llm_embedding_batched_requests") ?? 0)
        s.embeddingServer!.pauseBatching(true)
        let replies = (0..<4).map { i in Task { try await s.post("/v1/embeddings", ["input": texts[i % 2]]) } }
        let deadline = Date().addingTimeInterval(20)
        while try await s.metric("llm_embedding_queued_requests") != 4 && Date() < deadline { try await Task.sleep(nanoseconds: 2_000_000) }
        s.embeddingServer!.pauseBatching(false)
        for (i, reply) in replies.enumerated() { #expect(close(vectors(try await reply.value), [offline[i % 2]])) }
        #expect(try await s.metric("llm_embedding_batches") == rounds + 1, "four requests, one round")
        #expect(try await s.metric("llm_embedding_batched_requests") == served + 4)
        #expect(try await s.metric("llm_embedding_requests_total") == 9)

        func error(_ body: [String: Any]) async throws -> (Int, String?, String?) {
            let reply = try await s.post("/v1/embeddings", body), e = reply.json["error"] as? [String: Any]
            return (reply.status, e?["param"] as? String, e?["code"] as? String)
        }
        #expect(try await error(["input": ""]).0 == 400)
        #expect(try await error(["input": ["fine", "  \n "]]).1 == "input")
        #expect(try await error(["input": []]).0 == 400)
        #expect(try await error([:]).0 == 400)
        #expect(try await error(["input": [3, 99_999]]).0 == 400, "a token id outside the vocabulary")
        let long = try await error(["input": String(repeating: "the cat ", count: 80)])
        #expect(long.0 == 400 && long.2 == "context_length_exceeded")
        #expect(try await error(["input": "hi", "model": "gpt-4"]) == (404, nil, "model_not_found"))
        #expect(try await error(["input": "hi", "encoding_format": "int8"]).1 == "encoding_format")
        #expect(try await error(["input": "hi", "dimensions": 8]).1 == "dimensions")
        #expect(try await s.send("POST", "/v1/completions", "{}").status == 404, "an embedding model generates nothing")
        #expect((try await s.send("GET", "/v1/models").json["data"] as? [[String: Any]])?.first?["id"] as? String == "tiny")
    }

    @Test("shutdown lets a running stream finish, then stops")
    func gracefulShutdown() async throws {
        let s = try await TestServer(model: TestServer.slowModel)
        let stream = Task { try await s.post("/v1/completions", ["prompt": "Once", "max_tokens": 300, "temperature": 0, "stream": true]) }
        let deadline = Date().addingTimeInterval(10)
        while try await s.metric("llm_active_sequences") != 1 && Date() < deadline { try await Task.sleep(nanoseconds: 2_000_000) }
        await s.group.triggerGracefulShutdown() // what SIGTERM does
        let reply = try await stream.value
        #expect(reply.events.last == "[DONE]")
        #expect(reply.events.contains { $0.contains("\"finish_reason\":\"length\"") })
        _ = try? await s.task.value
        await #expect(throws: (any Error).self) { try await s.send("GET", "/health") }
        try? await s.client.shutdown()
    }
}
