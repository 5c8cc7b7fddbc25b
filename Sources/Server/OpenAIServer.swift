// The OpenAI-compatible HTTP API in front of an Engine (Hummingbird 2):
//
//   GET  /v1/models, /v1/models/{id}          the one model this server runs
//   POST /v1/completions                      prompt (text or token ids) → text, streamed or not
//   POST /v1/chat/completions                 messages → prompt through a chat template → text
//   POST /tokenize, /detokenize               any embedded encoding or the model's
//   /v1/vector_stores…                        with --index: the index as a vector store, and file_search on chat
//                                             (retrieval-augmented generation; VectorStore.swift)
//   GET  /health (open without a key), /metrics (Prometheus text)
//
// Streams are server-sent events, `data: {chunk}\n\n`, ending with exactly one `data: [DONE]`; a comment
// line goes out after each prefilled chunk of a long prompt so proxies and clients know it is alive. A
// client that goes away makes the next write fail, which cancels its request: the engine frees the slot
// before its next step. Errors are OpenAI's {"error": {...}} (APIError.swift); fields are checked one by
// one (RequestFields.swift). Binds to loopback unless told otherwise; CORS only for --cors-origin.

import Foundation
import Hummingbird
import Inference
import Logging
import ServiceLifecycle
import Tokenizers

public struct ServerOptions: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// Accepted bearer keys; empty: no key needed.
    public var apiKeys: [String] = []
    /// The one origin browsers may call from (CORS); nil: none.
    public var corsOrigin: String?
    /// The model's id in /v1/models and in responses.
    public var modelID: String
    public var chatTemplate: ChatTemplate = .plain
    /// Seconds running streams get to finish after SIGINT/SIGTERM before they are cancelled.
    public var drainSeconds: Double = 30

    public init(modelID: String) { self.modelID = modelID }
}

public final class OpenAIServer: Sendable {
    let engine: Engine
    let options: ServerOptions
    let metrics = ServerMetrics()
    let created = Int(Date().timeIntervalSince1970)
    let fingerprint: String
    /// The retrieval index served beside the model, if any.
    let store: VectorStore?

    public init(engine: Engine, options: ServerOptions, store: VectorStore? = nil) {
        self.engine = engine
        self.options = options
        self.store = store
        engine.observer = metrics
        fingerprint = "fp_llm_\(engine.model.typeDescription.prefix(4))_\(String(engine.model.weightBytes, radix: 16))"
    }

    /// The application: run it with `runService()` (SIGINT/SIGTERM drain the engine), or `run()` in a task.
    /// `onRunning` receives the bound port (useful with port 0).
    public func application(logger: Logger? = nil, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: CORSMiddleware(origin: options.corsOrigin))
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AuthMiddleware(keys: options.apiKeys, metrics: metrics))
        router.get("/health") { _, _ in jsonResponse(["status": "ok"]) }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: self.metrics.text(engine: self.engine))))
        }
        router.get("/v1/models") { _, _ in jsonResponse(["object": "list", "data": [self.modelObject]]) }
        router.get("/v1/models/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard id == self.options.modelID else { throw APIError.notFound("The model '\(id)' does not exist.", code: "model_not_found") }
            return jsonResponse(self.modelObject)
        }
        router.post("/v1/completions") { request, context in try await self.completions(request, context) }
        router.post("/v1/chat/completions") { request, context in try await self.chat(request, context) }
        router.post("/tokenize") { request, context in try await self.tokenize(request, context) }
        router.post("/detokenize") { request, context in try await self.detokenize(request, context) }
        addVectorStore(to: router)
        addPlayground(to: router)
        let logger = logger ?? Logger(label: "llm-serve")
        let port = options.port
        return Application(router: router,
                           configuration: .init(address: .hostname(options.host, port: port), serverName: "llm"),
                           services: [EngineDrain(engine: engine, seconds: options.drainSeconds)],
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
                           logger: logger)
    }

    private var modelObject: [String: Any] {
        ["id": options.modelID, "object": "model", "created": created, "owned_by": "llm"]
    }

    // MARK: Endpoints

    private func body(_ request: inout Request) async throws -> RequestFields {
        try RequestFields(try await request.collectBody(upTo: ServerLimits.maxBodyBytes))
    }

    private func checkModel(_ f: RequestFields) throws {
        if let model = try f.string("model"), model != options.modelID {
            throw APIError.notFound("The model '\(model)' does not exist; this server runs '\(options.modelID)'.", code: "model_not_found")
        }
    }

    /// Token ids from a string, a one-element list of strings, or a list of ids.
    private func promptTokens(_ value: Any?) throws -> [Int] {
        let encoding = engine.encoding
        if let text = value as? String { return try encoding.encode(text, allowedSpecial: .all) }
        if let list = value as? [String], list.count == 1 { return try encoding.encode(list[0], allowedSpecial: .all) }
        if let list = value as? [Any], !list.isEmpty, list.allSatisfy({ ($0 as? NSNumber).map { String(cString: $0.objCType) != "c" && $0.doubleValue == $0.doubleValue.rounded() } ?? false }) {
            let ids = list.map { ($0 as! NSNumber).intValue }
            guard ids.allSatisfy({ $0 >= 0 && $0 < engine.model.config.vocabSize }) else {
                throw APIError.invalid("prompt token ids must be in 0..<\(engine.model.config.vocabSize).", param: "prompt")
            }
            return ids
        }
        throw APIError.invalid("prompt must be a string, a list of one string, or a list of token ids.", param: "prompt")
    }

    private func submit(prompt: [Int], maxTokens: Int, sampling: SamplingFields, stops: [String], logprobs: Int?,
                        maxTokensField: String, chat: Bool = false) throws -> RequestHandle {
        guard !prompt.isEmpty else { throw APIError.invalid("The prompt is empty.", param: "prompt") }
        guard prompt.count + maxTokens <= engine.contextLength else {
            throw APIError.invalid("The prompt has \(prompt.count) tokens and \(maxTokensField) is \(maxTokens): together over the model's " +
                                   "context of \(engine.contextLength) tokens.", param: maxTokensField, code: "context_length_exceeded")
        }
        // <|endoftext|>, the model's own end tokens (config.json eos_token_id) and, for chat, the template's end of turn.
        var ends = Set(engine.encoding.specialTokens["<|endoftext|>"].map { [$0] } ?? []).union(engine.model.config.endTokenIds)
        if chat { ends.formUnion(options.chatTemplate.endOfTurnTokens(engine.encoding)) }
        let request = GenerationRequest(prompt: prompt, maxTokens: maxTokens, temperature: sampling.temperature, topK: sampling.topK,
                                        topP: sampling.topP, seed: sampling.seed, stopTokens: ends, stopStrings: stops, logprobs: logprobs)
        do {
            return try engine.submit(request)
        } catch let error as EngineError {
            switch error.kind {
            case .queueFull: throw APIError.overloaded("The server is busy: \(error.description).")
            case .shuttingDown: throw APIError(status: .serviceUnavailable, message: "The server is shutting down.", type: "server_error", param: nil, code: nil)
            case .invalidRequest: throw APIError.invalid(error.description)
            }
        }
    }

    private func completions(_ request: Request, _ context: some RequestContext) async throws -> Response {
        var request = request
        let f = try await body(&request)
        try checkModel(f)
        guard f.has("prompt") else { throw APIError.invalid("prompt is required.", param: "prompt") }
        let prompt = try promptTokens(f["prompt"])
        let sampling = try SamplingFields(f)
        let maxTokens = try f.int("max_tokens", in: 1...Int.max, "a whole number, 1 or more") ?? 16
        let logprobs = try f.int("logprobs", in: 0...20, "a whole number from 0 to 20")
        let echo = try f.bool("echo") ?? false
        let handle = try submit(prompt: prompt, maxTokens: maxTokens, sampling: sampling, stops: sampling.stop, logprobs: logprobs,
                                maxTokensField: "max_tokens")
        let id = "cmpl-" + Self.randomID(), echoText = echo ? (try? engine.encoding.decode(prompt)) ?? "" : ""
        @Sendable func chunk(_ text: String, _ lps: [TokenLogprob], finish: FinishReason?, offset: Int) -> [String: Any] {
            ["id": id, "object": "text_completion", "created": created, "model": options.modelID, "system_fingerprint": fingerprint,
             "choices": [["index": 0, "text": text, "logprobs": logprobs == nil ? NSNull() : completionLogprobs(lps, offset: offset),
                          "finish_reason": finish.map { $0 == .cancelled ? "stop" : $0.rawValue } ?? NSNull()] as [String: Any]]]
        }
        if sampling.stream {
            return sse(request, handle, includeUsage: sampling.includeUsage, id: id, object: "text_completion") { event, offset in
                switch event {
                case let .delta(text, _, lps): return chunk(text, lps, finish: nil, offset: offset)
                case let .finished(reason, _): return chunk("", [], finish: reason, offset: offset)
                default: return nil
                }
            } prelude: { echoText.isEmpty ? [] : [chunk(echoText, [], finish: nil, offset: 0)] }
        }
        let (text, lps, reason, usage) = try await collect(handle)
        var object = chunk(echoText + text, lps, finish: reason, offset: echoText.utf8.count)
        object["usage"] = Self.usage(usage)
        return jsonResponse(object)
    }

    private func chat(_ request: Request, _ context: some RequestContext) async throws -> Response {
        var request = request
        let f = try await body(&request)
        try checkModel(f)
        guard let raw = f["messages"] as? [Any], !raw.isEmpty else {
            throw APIError.invalid("messages must be a non-empty list of {role, content}.", param: "messages")
        }
        var messages = try raw.enumerated().map { i, item -> ChatTemplate.Message in
            guard let m = item as? [String: Any], let role = m["role"] as? String,
                  ["system", "developer", "user", "assistant"].contains(role) else {
                throw APIError.invalid("messages[\(i)] needs a role of system, developer, user or assistant.", param: "messages[\(i)].role")
            }
            if let text = m["content"] as? String { return .init(role: role, content: text) }
            if let parts = m["content"] as? [[String: Any]], parts.allSatisfy({ $0["type"] as? String == "text" && $0["text"] is String }) {
                return .init(role: role, content: parts.map { $0["text"] as! String }.joined())
            }
            throw APIError.invalid("messages[\(i)].content must be a string or a list of text parts.", param: "messages[\(i)].content")
        }
        let retrieved = try retrieval(f, messages: messages)
        if let retrieved { messages = retrieved.messages }
        let sampling = try SamplingFields(f)
        let prompt: [Int]
        do {
            prompt = try options.chatTemplate.tokens(messages, encoding: engine.encoding)
        } catch {
            throw APIError.invalid("\(error)", param: "messages")
        }
        let field = f.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens"
        let maxTokens = try f.int(field, in: 1...Int.max, "a whole number, 1 or more") ?? max(1, engine.contextLength - prompt.count)
        let wantsLogprobs = try f.bool("logprobs") ?? false
        let top = try f.int("top_logprobs", in: 0...20, "a whole number from 0 to 20")
        if top != nil && !wantsLogprobs { throw APIError.invalid("top_logprobs needs logprobs: true.", param: "top_logprobs") }
        let handle = try submit(prompt: prompt, maxTokens: maxTokens, sampling: sampling,
                                stops: sampling.stop + options.chatTemplate.stopStrings, logprobs: wantsLogprobs ? (top ?? 0) : nil,
                                maxTokensField: field, chat: true)
        let id = "chatcmpl-" + Self.randomID()
        let sources = RetrievedSources(list: retrieved?.sources)
        @Sendable func object(_ kind: String, _ choice: [String: Any], sources: RetrievedSources = .init(list: nil)) -> [String: Any] {
            var o: [String: Any] = ["id": id, "object": kind, "created": created, "model": options.modelID, "system_fingerprint": fingerprint,
                                    "choices": [choice]]
            if let list = sources.list { o["sources"] = list } // file_search: what the answer was given to read
            return o
        }
        @Sendable func logprobsField(_ lps: [TokenLogprob]) -> Any { wantsLogprobs ? ["content": lps.map(chatLogprob)] as [String: Any] : NSNull() }
        if sampling.stream {
            return sse(request, handle, includeUsage: sampling.includeUsage, id: id, object: "chat.completion.chunk") { event, _ in
                switch event {
                case let .delta(text, _, lps):
                    return object("chat.completion.chunk", ["index": 0, "delta": ["content": text], "logprobs": logprobsField(lps), "finish_reason": NSNull()])
                case let .finished(reason, _):
                    return object("chat.completion.chunk", ["index": 0, "delta": [String: Any](), "logprobs": NSNull(),
                                                            "finish_reason": reason == .cancelled ? "stop" : reason.rawValue])
                default: return nil
                }
            } prelude: {
                [object("chat.completion.chunk", ["index": 0, "delta": ["role": "assistant", "content": ""], "logprobs": NSNull(), "finish_reason": NSNull()],
                        sources: sources)]
            }
        }
        let (text, lps, reason, usage) = try await collect(handle)
        var response = object("chat.completion", ["index": 0, "message": ["role": "assistant", "content": text, "refusal": NSNull()] as [String: Any],
                                                  "logprobs": logprobsField(lps), "finish_reason": reason.rawValue], sources: sources)
        response["usage"] = Self.usage(usage)
        return jsonResponse(response)
    }

    private func encoding(_ f: RequestFields) throws -> Encoding {
        guard let name = try f.string("encoding") else { return engine.encoding }
        guard BuiltinEncoding(rawValue: name) != nil, let e = try? Encoding.named(name) else {
            throw APIError.invalid("encoding must be one of \(BuiltinEncoding.allCases.map(\.rawValue).joined(separator: ", ")), or absent for the model's.",
                                   param: "encoding")
        }
        return e
    }

    private func tokenize(_ request: Request, _ context: some RequestContext) async throws -> Response {
        var request = request
        let f = try await body(&request)
        guard let text = try f.string("text") ?? f.string("prompt") else { throw APIError.invalid("text is required (a string).", param: "text") }
        let e = try encoding(f)
        let ids = try e.encode(text, allowedSpecial: .all)
        // Each token's bytes (a special token's are its text), so a client can show what every id stands for.
        let pieces = ids.map { id -> [Int] in
            (e.bytes(ofToken: id) ?? Array((e.specialTokens.first { $0.value == id }?.key ?? "").utf8)).map(Int.init)
        }
        return jsonResponse(["tokens": ids, "count": ids.count, "encoding": e.name, "bytes": pieces])
    }

    private func detokenize(_ request: Request, _ context: some RequestContext) async throws -> Response {
        var request = request
        let f = try await body(&request)
        guard let list = f["tokens"] as? [Any], list.allSatisfy({ ($0 as? NSNumber).map { String(cString: $0.objCType) != "c" } ?? false }) else {
            throw APIError.invalid("tokens must be a list of token ids.", param: "tokens")
        }
        let e = try encoding(f)
        let ids = list.map { ($0 as! NSNumber).intValue }
        do {
            return jsonResponse(["text": try e.decode(ids), "encoding": e.name])
        } catch {
            throw APIError.invalid("tokens holds ids that \(e.name) does not have: \(error)", param: "tokens")
        }
    }

    // MARK: Helpers

    /// Runs a request to the end (non-streamed responses).
    private func collect(_ handle: RequestHandle) async throws -> (String, [TokenLogprob], FinishReason, Usage) {
        var text = "", lps: [TokenLogprob] = [], reason = FinishReason.cancelled, usage = Usage(promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0)
        await withTaskCancellationHandler {
            for await event in handle.events {
                switch event {
                case let .delta(t, _, l): text += t; lps += l
                case let .finished(r, u): reason = r; usage = u
                case .prefilling: break
                }
            }
        } onCancel: { handle.cancel() }
        if reason == .cancelled { throw CancellationError() }
        return (text, lps, reason, usage)
    }

    /// A server-sent-event response: `prelude` chunks, one chunk per engine event (`render` returns nil to
    /// skip one), the usage chunk when asked for, and `data: [DONE]`. When the client's side of the
    /// connection closes (Hummingbird's inbound-close handler), or a write fails, the request is cancelled.
    private func sse(_ request: Request, _ handle: RequestHandle, includeUsage: Bool, id: String, object: String,
                     render: @escaping @Sendable (GenerationEvent, Int) -> [String: Any]?,
                     prelude: @escaping @Sendable () -> [[String: Any]]) -> Response {
        let created = self.created, model = options.modelID, fingerprint = self.fingerprint
        // The connection closes after a stream (Hummingbird's inbound-close handling needs the connection to
        // itself); saying so keeps clients from reusing it.
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .connection: "close"],
                        body: .init { writer in
            func send(_ object: [String: Any]) async throws {
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                var buffer = ByteBuffer(string: "data: ")
                buffer.writeBytes(data)
                buffer.writeString("\n\n")
                try await writer.write(buffer)
            }
            do {
                try await request.body.consumeWithInboundCloseHandler { _ in
                    try await stream()
                } onInboundClosed: {
                    handle.cancel()
                }
            } catch {
                handle.cancel()
                throw error
            }
            func stream() async throws {
                for chunk in prelude() { try await send(chunk) }
                var offset = 0
                var finished = false
                for await event in handle.events {
                    if case .prefilling = event {
                        try await writer.write(ByteBuffer(string: ": prefilling\n\n"))
                        continue
                    }
                    if let chunk = render(event, offset) { try await send(chunk) }
                    if case let .delta(text, _, _) = event { offset += text.utf8.count }
                    if case let .finished(_, usage) = event {
                        finished = true
                        if includeUsage {
                            try await send(["id": id, "object": object, "created": created, "model": model, "system_fingerprint": fingerprint,
                                            "choices": [Any](), "usage": Self.usage(usage)])
                        }
                    }
                }
                guard finished else { throw CancellationError() }
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
            }
        })
    }

    private func completionLogprobs(_ lps: [TokenLogprob], offset: Int) -> [String: Any] {
        var offsets: [Int] = [], at = offset
        var tokens: [String] = []
        for lp in lps {
            let text = tokenText(lp.token)
            tokens.append(text)
            offsets.append(at)
            at += text.utf8.count
        }
        return ["tokens": tokens, "token_logprobs": lps.map(\.logprob),
                "top_logprobs": lps.map { lp in Dictionary(lp.top.map { (tokenText($0.token), $0.logprob) }, uniquingKeysWith: max) },
                "text_offset": offsets]
    }

    private func chatLogprob(_ lp: TokenLogprob) -> [String: Any] {
        ["token": tokenText(lp.token), "logprob": lp.logprob, "bytes": tokenBytes(lp.token),
         "top_logprobs": lp.top.map { ["token": tokenText($0.token), "logprob": $0.logprob, "bytes": tokenBytes($0.token)] as [String: Any] }]
    }

    private func tokenBytes(_ id: Int) -> [Int] { ((try? engine.encoding.decodeBytes([id])) ?? []).map(Int.init) }
    func tokenText(_ id: Int) -> String { String(decoding: (try? engine.encoding.decodeBytes([id])) ?? [], as: UTF8.self) }

    static func usage(_ u: Usage) -> [String: Any] {
        ["prompt_tokens": u.promptTokens, "completion_tokens": u.completionTokens, "total_tokens": u.promptTokens + u.completionTokens,
         "prompt_tokens_details": ["cached_tokens": u.cachedPromptTokens]]
    }

    static func randomID() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<12).map { _ in String(UInt8.random(in: 0...255, using: &g), radix: 16) }.joined()
    }
}

/// Bearer keys, compared in constant time; /health stays open.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: [[UInt8]]
    let metrics: ServerMetrics

    init(keys: [String], metrics: ServerMetrics) {
        self.keys = keys.map { Array($0.utf8) }
        self.metrics = metrics
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        metrics.httpRequest()
        // The health check and the playground page itself (static, no data) need no key; the page's requests do.
        let open = request.uri.path == "/health" || (request.method == .get && PlaygroundPage.files[request.uri.path] != nil)
        guard !keys.isEmpty, !open, request.method != .options else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        let given = Array((header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : "").utf8)
        // Every key is compared over its whole length whatever matches, so timing says nothing about a key.
        var ok = false
        for key in keys {
            var difference = UInt8(key.count == given.count ? 0 : 1)
            for i in 0..<key.count { difference |= key[i] ^ (i < given.count ? given[i] : 0) }
            ok = ok || difference == 0
        }
        guard ok else { throw APIError.unauthorized }
        return try await next(request, context)
    }
}

/// CORS for one allowed origin: preflights answered, responses marked; other origins get no CORS headers
/// (so a browser refuses them). Without an origin, nothing is added.
struct CORSMiddleware<Context: RequestContext>: RouterMiddleware {
    let origin: String?

    init(origin: String?) { self.origin = origin }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin, request.headers[.origin] == origin else { return try await next(request, context) }
        if request.method == .options {
            return Response(status: .noContent, headers: [.accessControlAllowOrigin: origin, .accessControlAllowMethods: "GET, POST, OPTIONS",
                                                          .accessControlAllowHeaders: "Authorization, Content-Type", .vary: "Origin"])
        }
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.vary] = "Origin"
        return response
    }
}

/// On SIGINT/SIGTERM (graceful shutdown), the engine stops taking requests, gives running streams up to
/// `seconds` to finish, then cancels the rest, so the HTTP server's own drain ends too.
struct EngineDrain: Service {
    let engine: Engine
    let seconds: Double

    func run() async throws {
        try? await gracefulShutdown()
        await engine.drain(seconds: seconds)
    }
}
