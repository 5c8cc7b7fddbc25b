// `llm serve` for a sentence-embedding model (a sentence-transformers directory): OpenAI's embeddings endpoint, so
// the official client's `embeddings.create` works unchanged.
//
//   POST /v1/embeddings   {"input": a string, a list of strings, a list of token ids or a list of such lists,
//                          "model", "encoding_format": "float" | "base64", "dimensions", "user"}
//                         → {"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model",
//                            "usage": {"prompt_tokens", "total_tokens"}}
//   GET  /v1/models, /v1/models/{id}, /health (open without a key), /metrics (Prometheus text)
//
// Token ids are the model's WordPiece ids of a text without [CLS] and [SEP], which the server adds as it does to a
// text; usage counts every token the encoder reads, those two included. An input longer than the model's
// max_seq_length is refused (OpenAI's behaviour), not cut. base64 is the little-endian float32 bytes of the vector.
// Keys, CORS and errors work as in OpenAIServer (the same middlewares); concurrent requests share forward passes
// (EmbeddingBatcher).

import Foundation
import Formats
import Hummingbird
import Logging
import Prometheus

public final class EmbeddingServer: Sendable {
    let batcher: EmbeddingBatcher
    let options: ServerOptions
    let metrics = ServerMetrics()
    let created = Int(Date().timeIntervalSince1970)
    /// The most inputs one request may carry (OpenAI's limit).
    static let maxInputs = 2048

    public init(embedder: SentenceTransformer, options: ServerOptions, tokenBudget: Int = 16_384) {
        batcher = EmbeddingBatcher(embedder: embedder, tokenBudget: tokenBudget)
        self.options = options
    }

    var embedder: SentenceTransformer { batcher.embedder }

    /// Holds batching between rounds, so requests queue up (true), or lets it run (false): for tests that need
    /// requests to meet in one round, and to drain a server before maintenance.
    public func pauseBatching(_ paused: Bool) { batcher.pause(paused) }
    var modelObject: [String: Any] { ["id": options.modelID, "object": "model", "created": created, "owned_by": "llm"] }

    /// The application; `onRunning` receives the bound port (useful with port 0).
    public func application(logger: Logger? = nil, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: CORSMiddleware(origin: options.corsOrigin))
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AuthMiddleware(keys: options.apiKeys, metrics: metrics))
        router.get("/health") { _, _ in jsonResponse(["status": "ok"]) }
        router.get("/metrics") { _, _ in
            let (passes, served) = self.batcher.counts
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(string: self.metrics.embeddingText(passes: passes, served: served, queued: self.batcher.queued))))
        }
        router.get("/v1/models") { _, _ in jsonResponse(["object": "list", "data": [self.modelObject]]) }
        router.get("/v1/models/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard id == self.options.modelID else { throw APIError.notFound("The model '\(id)' does not exist.", code: "model_not_found") }
            return jsonResponse(self.modelObject)
        }
        router.post("/v1/embeddings") { request, _ in
            var request = request
            return try await self.embeddings(try RequestFields(try await request.collectBody(upTo: ServerLimits.maxBodyBytes)))
        }
        let port = options.port
        return Application(router: router, configuration: .init(address: .hostname(options.host, port: port), serverName: "llm"),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
                           logger: logger ?? Logger(label: "llm-serve"))
    }

    func embeddings(_ f: RequestFields) async throws -> Response {
        if let model = try f.string("model"), model != options.modelID {
            throw APIError.notFound("The model '\(model)' does not exist; this server runs '\(options.modelID)'.", code: "model_not_found")
        }
        let format = try f.string("encoding_format") ?? "float"
        guard format == "float" || format == "base64" else {
            throw APIError.invalid("encoding_format must be \"float\" or \"base64\".", param: "encoding_format")
        }
        let dimension = embedder.dimension
        if let d = try f.int("dimensions", in: 1...Int.max, "a whole number, 1 or more"), d != dimension {
            throw APIError.invalid("This model's vectors have \(dimension) dimensions and cannot be shortened; dimensions must be \(dimension) or left out.",
                                   param: "dimensions")
        }
        _ = try f.string("user") // accepted and ignored
        let ids = try inputs(f["input"]), tokens = ids.reduce(0) { $0 + $1.count }
        metrics.embeddingRequest(inputs: ids.count, tokens: tokens)
        let vectors = await batcher.embed(ids)
        let data: [[String: Any]] = vectors.enumerated().map { i, v in
            ["object": "embedding", "index": i, "embedding": format == "float" ? v.map(Double.init) as Any : Self.base64(v)]
        }
        return jsonResponse(["object": "list", "data": data, "model": options.modelID,
                             "usage": ["prompt_tokens": tokens, "total_tokens": tokens]])
    }

    /// The encoder's input for each of a request's inputs: texts tokenized, token ids framed by [CLS] … [SEP].
    func inputs(_ value: Any?) throws -> [[Int]] {
        let what = "input must be a non-empty string, a list of non-empty strings, a list of token ids or a list of such lists"
        func invalid(_ detail: String) -> APIError { APIError.invalid("\(detail) (\(what)).", param: "input") }
        guard let value, !(value is NSNull) else { throw invalid("input is required") }
        let items: [Any]
        if let s = value as? String { items = [s] } else if let list = value as? [Any] {
            // A flat list of numbers is one input of token ids; anything else is a list of inputs.
            items = !list.isEmpty && list.allSatisfy({ $0 is NSNumber && !RequestFields.isBool($0) }) ? [list] : list
        } else { throw invalid("input has the wrong type") }
        guard !items.isEmpty else { throw invalid("input is an empty list") }
        guard items.count <= Self.maxInputs else { throw invalid("input has \(items.count) items; at most \(Self.maxInputs) are allowed") }
        let tokenizer = embedder.tokenizer, limit = embedder.maxSequenceLength, vocabulary = tokenizer.vocabulary.count
        return try items.enumerated().map { i, item in
            let ids: [Int]
            if let text = item as? String {
                guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    throw invalid("input[\(i)] is empty or only whitespace")
                }
                ids = tokenizer.encode(text).ids
            } else if let numbers = item as? [Any], !numbers.isEmpty,
                      let tokens = numbers.map({ RequestFields.isBool($0) ? nil : ($0 as? NSNumber)?.doubleValue }) as? [Double],
                      tokens.allSatisfy({ $0 == $0.rounded() && $0 >= 0 && $0 < Double(vocabulary) }) {
                ids = [tokenizer.classifier] + tokens.map { Int($0) } + [tokenizer.separator]
            } else {
                throw invalid("input[\(i)] is neither a non-empty string nor a non-empty list of token ids from 0 to \(vocabulary - 1)")
            }
            guard ids.count <= limit else {
                throw APIError.invalid("input[\(i)] has \(ids.count) tokens with [CLS] and [SEP]; this model reads at most \(limit).",
                                       param: "input", code: "context_length_exceeded")
            }
            return ids
        }
    }

    /// OpenAI's base64 encoding: the vector's float32 values, little-endian, as bytes.
    static func base64(_ v: [Float]) -> String {
        var bytes = [UInt8](), little = v.map { $0.bitPattern.littleEndian }
        bytes.reserveCapacity(4 * v.count)
        little.withUnsafeMutableBytes { bytes.append(contentsOf: $0) }
        return Data(bytes).base64EncodedString()
    }
}
