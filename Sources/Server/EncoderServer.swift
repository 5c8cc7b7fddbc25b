// `llm serve` for an encoder (a BERT directory with its masked-LM head): the playground page, whose views for an
// encoder are fill-mask and attention, and the JSON endpoints they use. A BERT generates nothing, so there are no
// completions here; the page asks /playground/info and shows only what the model can do.
//
//   GET  /playground/info         {"kind": "encoder", the model's shape, its [MASK] token}
//   POST /playground/fill-mask    {"text", "top_k"} → the text's tokens and, per [MASK], the candidates with their
//                                 probabilities ({score, token, token_str, sequence}, as `llm fill-mask --json`)
//   POST /playground/attention    {"text", "layer"} → tokens and (heads, T, T) weights, every row over the whole text
//   GET  /health, /v1/models
//
// Keys, CORS and errors work as in OpenAIServer (same middlewares). One forward pass runs at a time: the model's
// GEMMs share one thread pool, and a playground's requests are small.

import Foundation
import Hummingbird
import Inference
import Logging
import Models
import Tensors
import Tokenizers

public final class EncoderServer: @unchecked Sendable { // the model is used under `lock` alone
    let model: BERTForMaskedLM
    let tokenizer: WordPieceTokenizer
    let options: ServerOptions
    let metrics = ServerMetrics()
    let created = Int(Date().timeIntervalSince1970)
    private let lock = NSLock()

    public init(model: BERTForMaskedLM, tokenizer: WordPieceTokenizer, options: ServerOptions) {
        model.eval()
        (self.model, self.tokenizer, self.options) = (model, tokenizer, options)
    }

    /// The application; `onRunning` receives the bound port (useful with port 0).
    public func application(logger: Logger? = nil, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: CORSMiddleware(origin: options.corsOrigin))
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AuthMiddleware(keys: options.apiKeys, metrics: metrics))
        router.get("/health") { _, _ in jsonResponse(["status": "ok"]) }
        router.get("/v1/models") { _, _ in
            jsonResponse(["object": "list", "data": [["id": self.options.modelID, "object": "model", "created": self.created, "owned_by": "llm"]]])
        }
        PlaygroundPage.serve(on: router)
        router.get("/playground/info") { _, _ in
            let c = self.model.config
            return jsonResponse(["kind": "encoder", "model": self.options.modelID, "weights": "f32", "layers": c.layers, "heads": c.heads,
                                 "embedding_size": c.hiddenSize, "context_length": c.maxPositions, "vocab_size": c.vocabSize,
                                 "mask_token": self.tokenizer.mask.map { self.tokenizer.vocabulary[$0] } ?? NSNull(),
                                 "attention_tokens": PlaygroundLimits.attentionTokens])
        }
        router.post("/playground/fill-mask") { request, _ in
            var request = request
            return try self.fill(try RequestFields(try await request.collectBody(upTo: ServerLimits.maxBodyBytes)))
        }
        router.post("/playground/attention") { request, _ in
            var request = request
            return try self.attention(try RequestFields(try await request.collectBody(upTo: ServerLimits.maxBodyBytes)))
        }
        let port = options.port
        return Application(router: router, configuration: .init(address: .hostname(options.host, port: port), serverName: "llm"),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
                           logger: logger ?? Logger(label: "llm-serve"))
    }

    // Tokens are shown as the vocabulary writes them ("##en" continues a word), so the pieces read as the model reads them.

    private func fill(_ f: RequestFields) throws -> Response {
        guard let text = try f.string("text"), !text.isEmpty else { throw APIError.invalid("text is required (a non-empty string).", param: "text") }
        let topK = try f.int("top_k", in: 1...50, "a number of candidates from 1 to 50") ?? 5
        let ids = tokenizer.encode(text).ids, candidates: [[MaskCandidate]]
        do {
            candidates = try lock.withLock { try fillMask(model, tokenizer: tokenizer, ids: ids, topK: topK) }
        } catch let error as FillMaskError {
            throw APIError.invalid(error.description.prefix(1).uppercased() + error.description.dropFirst() + ".", param: "text")
        }
        return jsonResponse(["tokens": ids.map { tokenizer.vocabulary[$0] }, "ids": ids,
                             "masks": candidates.map { $0.map(\.json) }])
    }

    private func attention(_ f: RequestFields) throws -> Response {
        guard let text = try f.string("text"), !text.isEmpty else { throw APIError.invalid("text is required (a non-empty string).", param: "text") }
        let layers = model.config.layers, heads = model.config.heads
        let layer = try f.int("layer", in: 0...(layers - 1), "a layer number from 0 to \(layers - 1)") ?? 0
        let ids = tokenizer.encode(text).ids // [CLS] … [SEP], as the model reads the text
        let limit = min(PlaygroundLimits.attentionTokens, model.config.maxPositions)
        guard ids.count <= limit else {
            throw APIError.invalid("text has \(ids.count) tokens with [CLS] and [SEP]; attention is drawn for at most \(limit).", param: "text")
        }
        let weights = lock.withLock { model.bert.attentionWeights(ids, layer: layer).scalars }
        return jsonResponse(["tokens": ids.map { tokenizer.vocabulary[$0] }, "ids": ids, "layer": layer,
                             "layers": layers, "heads": heads, "causal": false,
                             "weights": PlaygroundPage.rounded(weights, heads: heads, tokens: ids.count)])
    }
}
