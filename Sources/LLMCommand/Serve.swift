// `llm serve`: the OpenAI-compatible server (Server target) in front of the serving engine (Inference).

import ArgumentParser
import Formats
import Foundation
import Inference
import Logging
import Server
import Tokenizers

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a model over OpenAI's HTTP API (completions, chat completions, streaming).",
        discussion: """
            Any OpenAI client works against http://HOST:PORT/v1. Requests are batched continuously: up to --max-batch \
            sequences share each decoding step. SIGINT or SIGTERM stops taking requests, lets running streams \
            finish (up to --drain seconds), and exits 0. Binds to 127.0.0.1 unless --host says otherwise. \
            The playground is at http://HOST:PORT/. A BERT directory (with its masked-LM head) is served for the \
            playground's fill-mask and attention views. A sentence-transformers directory (modules.json), or any \
            BERT directory with --embeddings, is served for POST /v1/embeddings in OpenAI's shape (texts or token \
            ids; float or base64), concurrent requests sharing forward passes. With --index, a chat model's server \
            also serves that retrieval index (llm index build) as an OpenAI vector store: POST \
            /v1/vector_stores/ID/search (ID: the index file's name), and retrieval-augmented chat through a \
            "file_search": {"vector_store_ids": [ID]} field on /v1/chat/completions (the playground's Search view \
            and its "answer from the index" switch use them).
            """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Address to listen on (0.0.0.0: every interface).") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port, printed at start).") var port = 8080
    @Option(help: "Require one of these keys (comma-separated) as \"Authorization: Bearer KEY\".") var apiKey: String?
    @Option(help: "Sequences decoded together, 1 to 16 (each takes a KV cache slot).") var maxBatch = 8
    @Option(help: "Requests that may wait for a slot; beyond them the server answers 429.") var maxQueue = 64
    @Option(help: "Serve with a shorter context than the model's (smaller KV slots).") var contextLength: Int?
    @Option(help: "The one origin browsers may call from (CORS); none by default.") var corsOrigin: String?
    @Option(help: "How chat messages become a prompt: alpaca (the book's instruction format), plain, llama3 or chatml (default: the model's, else plain).")
    var chatTemplate: String?
    @Option(help: "Convert the weights to f32, f16, bf16 or q8_0 after loading (default: as stored).") var weights: WeightType?
    @Option(help: "Seconds running streams get to finish after SIGINT/SIGTERM.") var drain: Double = 30
    @Flag(help: "Serve a BERT directory's sentence embeddings (POST /v1/embeddings); the default for sentence-transformers directories.")
    var embeddings = false
    @Option(help: "A retrieval index (llm index build) to serve as a vector store beside a chat model.") var index: String?
    @Option(help: "With --index: the index's embedder (default: the directory the index records).") var embedder: String?

    func validate() throws {
        guard (1...16).contains(maxBatch) else { throw ValidationError("--max-batch must be from 1 to 16") }
        guard maxQueue >= 0 else { throw ValidationError("--max-queue must be 0 or more") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
        if let c = contextLength, c < 2 { throw ValidationError("--context-length must be at least 2") }
        if let t = chatTemplate, ChatTemplate(rawValue: t) == nil {
            throw ValidationError("--chat-template must be one of \(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() async throws {
        let dir = modelOptions.model
        if BERTCheckpoint.isBERT(dir) {
            guard index == nil && embedder == nil else {
                throw CommandError("--index serves a retrieval index beside a chat model; \(dir) is a BERT encoder")
            }
            let sentenceTransformer = FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("modules.json"))
            return try await (embeddings || sentenceTransformer ? serveEmbeddings() : serveEncoder())
        }
        guard !embeddings else { throw CommandError("--embeddings serves a BERT encoder's sentence embeddings; \(dir) is not a BERT directory") }
        guard index != nil || embedder == nil else { throw CommandError("--embedder goes with --index") }
        let store = try index.map { path -> VectorStore in
            let opened = try openIndex(path)
            let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            return VectorStore(id: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent, index: opened,
                               embedder: try indexEmbedder(opened, path: path, given: embedder), usageBytes: bytes)
        }
        guard modelOptions.runsOnInferenceModel else {
            throw CommandError("serving needs a GPT-2 model with learned or sinusoidal positions, or a Llama / Qwen3 model")
        }
        var (model, encoding) = try modelOptions.loadInference(weights: weights)
        if let c = contextLength {
            guard c <= model.config.contextLength else {
                throw CommandError("--context-length \(c) is longer than the model's \(model.config.contextLength)")
            }
            model = model.withContextLength(c)
        }
        let engine = try Engine(model: model, encoding: encoding, maxBatch: maxBatch, maxQueue: maxQueue)
        var options = serverOptions(id: URL(fileURLWithPath: modelOptions.model).deletingPathExtension().lastPathComponent)
        options.chatTemplate = modelOptions.chatTemplate(chatTemplate)
        let logger = serverLogger
        let server = OpenAIServer(engine: engine, options: options, store: store)
        let storeLine = store.map { "; vector store \($0.id) (\($0.chunkCount) chunks)" } ?? ""
        let template = options.chatTemplate.rawValue, id = options.modelID, types = model.typeDescription
        let (host, maxBatch) = (host, maxBatch)
        let app = server.application(logger: logger) { bound in
            printError("serving \(id) (\(types) weights, chat template \(template)) at http://\(host):\(bound)/v1 " +
                       "— up to \(maxBatch) sequences per step" + storeLine + "; Ctrl-C stops")
        }
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        printError("stopped")
    }

    /// A sentence-embedding model: POST /v1/embeddings (EmbeddingServer).
    func serveEmbeddings() async throws {
        let dir = modelOptions.model
        for (flag, given) in [("--weights", weights != nil), ("--chat-template", chatTemplate != nil), ("--context-length", contextLength != nil),
                              ("--adapter", modelOptions.adapter != nil)] where given {
            throw CommandError("\(flag) is for serving a decoder; \(dir) is served for sentence embeddings")
        }
        let embedder = try SentenceTransformer(directory: dir)
        let options = serverOptions(id: URL(fileURLWithPath: dir).lastPathComponent)
        let (id, host, dimension, pooling) = (options.modelID, host, embedder.dimension, embedder.pooling)
        let app = EmbeddingServer(embedder: embedder, options: options).application(logger: serverLogger) { bound in
            printError("serving \(id) (sentence embeddings: \(dimension) dimensions, \(pooling) pooling) at http://\(host):\(bound)/v1/embeddings — Ctrl-C stops")
        }
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        printError("stopped")
    }

    /// The options every server takes from the command line.
    func serverOptions(id: String) -> ServerOptions {
        var options = ServerOptions(modelID: id)
        options.host = host
        options.port = port
        options.apiKeys = apiKey.map { $0.split(separator: ",").map(String.init) } ?? []
        options.corsOrigin = corsOrigin
        options.drainSeconds = drain
        return options
    }

    var serverLogger: Logger {
        var logger = Logger(label: "llm-serve")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }

    /// A BERT with its masked-LM head: the playground's fill-mask and attention views (EncoderServer).
    func serveEncoder() async throws {
        let dir = modelOptions.model
        for (flag, given) in [("--weights", weights != nil), ("--chat-template", chatTemplate != nil), ("--context-length", contextLength != nil),
                              ("--adapter", modelOptions.adapter != nil)] where given {
            throw CommandError("\(flag) is for serving a decoder; \(dir) is a BERT, served for fill-mask and attention")
        }
        guard let tokenizer = try WordPieceTokenizer.load(modelDirectory: dir) else {
            throw CommandError("--model \(dir): a BERT directory without vocab.txt or a WordPiece tokenizer.json")
        }
        let model = try BERTCheckpoint.loadMaskedLM(dir)
        let options = serverOptions(id: URL(fileURLWithPath: dir).lastPathComponent)
        let (id, host) = (options.modelID, host)
        let app = EncoderServer(model: model, tokenizer: tokenizer, options: options).application(logger: serverLogger) { bound in
            printError("serving \(id) (a BERT: fill-mask and attention) at http://\(host):\(bound)/ — Ctrl-C stops")
        }
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        printError("stopped")
    }
}
