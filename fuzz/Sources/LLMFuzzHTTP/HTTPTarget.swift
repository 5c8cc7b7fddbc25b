// The HTTP target: a request body, posted to one of the server's endpoints, answered by the whole
// server — field parsing, tokenizing, the engine generating with a tiny model, the JSON or event-stream
// response — through Hummingbird's router test client (no sockets, so one input is one request).
// The first byte picks the endpoint; the rest is the body.

import Foundation
import FuzzSupport
import Hummingbird
import HummingbirdTesting
import Inference
import Logging
import Models
import Server
import Tokenizers

let endpoints = ["/v1/completions", "/v1/chat/completions", "/tokenize", "/detokenize"]

/// A client of one server that stays up for the whole run (the test closure never returns).
/// Its model has a tokenizer of 292 tokens (a Llama 3 kind trained on The Verdict, fuzz/seeds/): with GPT-2's
/// 50,257, sampling each token's logits — every comparison counted by the coverage instrumentation — took most
/// of each request's time. Requests can still name the server's other encodings (gpt2, cl100k_base …).
let httpClient: any TestClientProtocol = {
    let seeds = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../seeds").standardized
    let encoding = try! Encoding.huggingFace(tokenizerJSON: seeds.appendingPathComponent("tokenizer-json/llama3-small.json").path)
    let config = GPTConfig(vocabSize: encoding.vocabularySize, contextLength: 24, embeddingSize: 8, layers: 1, heads: 2, dropout: 0)
    let model = try! InferenceModel(GPTModel(config))
    let engine = try! Engine(model: model, encoding: encoding, maxBatch: 4, maxQueue: 64, prefillChunk: 8)
    var logger = Logger(label: "fuzz")
    logger.logLevel = .critical
    let app = OpenAIServer(engine: engine, options: ServerOptions(modelID: "tiny")).application(logger: logger)
    nonisolated(unsafe) var client: (any TestClientProtocol)?
    let ready = DispatchSemaphore(value: 0)
    Task.detached {
        try await app.test(.router) { c in
            client = c
            ready.signal()
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
    }
    ready.wait()
    return client!
}()

/// Runs `body` to the end on the cooperative pool and waits for it (libFuzzer calls in on its own thread).
func blocking(_ body: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        await body()
        done.signal()
    }
    done.wait()
}

func postRequest(_ data: Data) {
    guard let selector = data.first else { return }
    let uri = endpoints[Int(selector) % endpoints.count]
    let body = ByteBuffer(bytes: data.dropFirst())
    let client = httpClient
    blocking {
        let response = try? await client.execute(uri: uri, method: .post, headers: [.contentType: "application/json"], body: body)
        // The server answers every body with a response of its own (a 4xx names the problem); a 500 is a bug.
        if let response, response.status == .internalServerError {
            fatalError("500 for \(uri): \(String(buffer: response.body))")
        }
    }
}
