// The playground: one page at `/` (Resources/playground: index.html, playground.css, playground.js, compiled
// into the binary as SwiftPM resources: no build step, no files to install, no network) where a learner types a sentence and sees what the model sees — tokens, attention, embeddings
// — and a practitioner tries the model (streamed generation with sampling controls) and, with --index, searches the
// index (the Search view) and has answers written over retrieved sources, shown beside them. The page uses the
// OpenAI endpoints and /tokenize like any client, plus three small JSON endpoints of its own (an encoder's
// server, EncoderServer.swift, has its own: fill-mask and attention):
//   GET  /playground/info         the model's kind ("decoder"), shape, chat template, encodings, vector store (--index)
//   POST /playground/attention    {"text", "layer"} → tokens and (heads, T, T) weights, as `llm attention`
//   POST /playground/embeddings   {"words": [...]} → 2-D PCA coordinates, as `llm embeddings`

import Foundation
import Hummingbird
import Inference
import Models
import Tokenizers

enum PlaygroundLimits {
    /// Longest text whose attention the page draws (a T×T grid per head stays readable and small).
    static let attentionTokens = 64
    static let embeddingWords = 3...64
}

/// The page's files by the path they are served at; they hold no data, so they need no API key.
enum PlaygroundPage {
    static let files: [String: (contentType: String, bytes: [UInt8])] = [
        "/": ("text/html; charset=utf-8", PackageResources.index_html),
        "/playground.css": ("text/css; charset=utf-8", PackageResources.playground_css),
        "/playground.js": ("text/javascript; charset=utf-8", PackageResources.playground_js),
    ]

    /// Routes the page's files (for a decoder's server and an encoder's alike).
    static func serve(on router: Router<some RequestContext>) {
        for (path, file) in files {
            router.get(RouterPath(path)) { _, _ in
                Response(status: .ok, headers: [.contentType: file.contentType, .cacheControl: "no-cache"],
                         body: .init(byteBuffer: ByteBuffer(bytes: file.bytes)))
            }
        }
    }

    /// Attention weights (heads, T, T), flat, as nested lists with four decimals: plenty for a heat map, and small JSON.
    static func rounded(_ weights: [Float], heads: Int, tokens t: Int) -> [[[Double]]] {
        (0..<heads).map { h in (0..<t).map { i in (0..<t).map { j in (Double(weights[(h * t + i) * t + j]) * 10_000).rounded() / 10_000 } } }
    }
}

extension OpenAIServer {
    func addPlayground(to router: Router<some RequestContext>) {
        PlaygroundPage.serve(on: router)
        router.get("/playground/info") { _, _ in
            let config = self.engine.model.config
            return jsonResponse(["kind": "decoder", "model": self.options.modelID, "weights": self.engine.model.typeDescription, "layers": config.layers,
                                 "heads": config.heads, "embedding_size": config.embeddingSize, "context_length": config.contextLength,
                                 "vocab_size": config.vocabSize, "chat_template": self.options.chatTemplate.rawValue,
                                 "encoding": self.engine.encoding.name, "encodings": BuiltinEncoding.allCases.map(\.rawValue),
                                 "attention_tokens": PlaygroundLimits.attentionTokens,
                                 "vector_store": self.store?.id ?? NSNull(), "vector_store_chunks": self.store?.chunkCount ?? 0] as [String: Any])
        }
        router.post("/playground/attention") { request, _ in
            var request = request
            let f = try RequestFields(try await request.collectBody(upTo: ServerLimits.maxBodyBytes))
            return try self.attention(f)
        }
        router.post("/playground/embeddings") { request, _ in
            var request = request
            let f = try RequestFields(try await request.collectBody(upTo: ServerLimits.maxBodyBytes))
            return try self.embeddings(f)
        }
    }

    private func attention(_ f: RequestFields) throws -> Response {
        let model = engine.model, encoding = engine.encoding
        guard let text = try f.string("text"), !text.isEmpty else { throw APIError.invalid("text is required (a non-empty string).", param: "text") }
        let layer = try f.int("layer", in: 0...(model.config.layers - 1), "a block number from 0 to \(model.config.layers - 1)") ?? 0
        let ids = try encoding.encode(text, allowedSpecial: .all)
        let limit = min(PlaygroundLimits.attentionTokens, model.config.contextLength)
        guard !ids.isEmpty, ids.count <= limit else {
            throw APIError.invalid("text has \(ids.count) tokens; attention is drawn for 1 to \(limit).", param: "text")
        }
        let weights = model.attentionWeights(ids, layer: layer)
        return jsonResponse(["tokens": ids.map(tokenText), "ids": ids, "layer": layer, "layers": model.config.layers, "heads": model.config.heads,
                             "causal": true, "weights": PlaygroundPage.rounded(weights, heads: model.config.heads, tokens: ids.count)])
    }

    private func embeddings(_ f: RequestFields) throws -> Response {
        let words = try f.strings("words", max: PlaygroundLimits.embeddingWords.upperBound).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard PlaygroundLimits.embeddingWords.contains(words.count) else {
            throw APIError.invalid("words must hold \(PlaygroundLimits.embeddingWords.lowerBound) to \(PlaygroundLimits.embeddingWords.upperBound) words.",
                                   param: "words")
        }
        // As `llm embeddings`: GPT-2's words mostly carry their leading space; a word of several tokens is their mean.
        let tokens = words.map { engine.encoding.encodeOrdinary(" " + $0) }
        let points = PCA.project(tokens.map(engine.model.meanEmbedding), dimensions: engine.model.config.embeddingSize)
        return jsonResponse(["points": zip(words, zip(points, tokens)).map { word, pair in
            ["word": word, "x": pair.0.0, "y": pair.0.1, "tokens": pair.1.count] as [String: Any]
        }])
    }
}
