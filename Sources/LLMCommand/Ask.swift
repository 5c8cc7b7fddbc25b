// `llm ask`: retrieval-augmented generation. The question is embedded and searched in an index (llm index); the best
// chunks become numbered sources in the prompt (Inference/Retrieval/RetrievalPrompt); the model answers, streamed,
// and the sources it was shown are printed after the answer.

import ArgumentParser
import Foundation
import Formats
import Inference
import Server
import Tokenizers

struct Ask: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Answer a question from a retrieval index's best chunks (retrieval-augmented generation).",
        discussion: """
            The question is searched in --index (with the embedder the index records, or --embedder); the --top-k best \
            chunks become numbered sources in a message asking the model to answer from them and cite them; the \
            model's chat template (--chat-template, else the model's own, else plain) wraps the message. The answer \
            streams to standard output, then the sources with their scores. --json prints one line instead: \
            {answer, sources: [{id, score, text, source}], prompt}, the prompt being exactly what the model read.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "The index to search (llm index build).") var index: String
    @Option(help: "The embedder (default: the one the index records).") var embedder: String?
    @Option(help: "Chunks given to the model as sources.") var topK = 3
    @Option(help: "Tokens to generate.") var maxNewTokens = 128
    @Option(help: "0 is greedy (deterministic); higher is more varied.") var temperature: Float = 0
    @Option(help: "Sample only among the likeliest tokens whose probabilities add up to P.") var topP: Float?
    @Option(help: "Seed for sampling.") var seed: UInt64 = 0
    @Option(help: "The chat template: alpaca, plain, llama3 or chatml (default: the model's, else plain).") var chatTemplate: String?
    @Option(help: "Convert the weights to f32, f16, bf16 or q8_0 after loading (default: as stored).") var weights: WeightType?
    @Flag(help: "Print one JSON line {answer, sources, prompt} instead of streaming.") var json = false
    @Argument(help: "The question.") var question: String

    func validate() throws {
        guard !question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw ValidationError("the question is empty") }
        guard topK >= 1 else { throw ValidationError("--top-k must be at least 1") }
        guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be at least 1") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be >= 0") }
        if let p = topP, !(p > 0 && p <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        if let t = chatTemplate, ChatTemplate(rawValue: t) == nil {
            throw ValidationError("--chat-template must be one of \(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        let opened = try openIndex(index)
        let embedding = try indexEmbedder(opened, path: index, given: embedder)
        guard modelOptions.runsOnInferenceModel else {
            throw CommandError("llm ask needs a GPT-2 model with learned or sinusoidal positions, a Llama / Qwen3 model, or a GGUF file")
        }
        let hits = opened.search(embedding.embed([question]), topK: topK, ef: max(64, topK))[0] // exact without a graph
        let sources = hits.map { opened.chunks[$0.chunk] }
        let (model, encoding) = try modelOptions.loadInference(weights: weights)
        let template = modelOptions.chatTemplate(chatTemplate)
        let message = RetrievalPrompt.message(question: question, sources: sources.map(\.text))
        let ids: [Int]
        do { ids = try template.tokens([.init(role: "user", content: message)], encoding: encoding) } catch { throw CommandError("\(error)") }
        if ids.count + maxNewTokens > model.config.contextLength {
            printError("note: the prompt has \(ids.count) tokens and the model reads \(model.config.contextLength); "
                       + "fewer sources (--top-k) or smaller chunks (llm index build --chunk-tokens) would fit")
        }
        let ends = Set(encoding.specialTokens["<|endoftext|>"].map { [$0] } ?? []).union(model.config.endTokenIds)
            .union(template.endOfTurnTokens(encoding))
        var options = SamplingOptions(maxNewTokens: maxNewTokens, temperature: temperature, topK: nil, topP: topP, seed: seed,
                                      stopTokens: ends, stopStrings: template.stopStrings)
        let interrupt = Interrupt.install()
        options.stopRequested = { interrupt.requested != nil }
        let result = try model.generate(prompt: ids, encoding: encoding, options: options) { piece in
            if !json { print(piece, terminator: ""); fflush(nil) }
        }
        if json {
            print(try jsonLine(["answer": result.text.trimmingCharacters(in: .whitespacesAndNewlines),
                                "sources": zip(hits, sources).map { ["id": $1.id, "score": Double($0.score), "text": $1.text, "source": $1.source] as [String: Any] },
                                "prompt": encoding.decode(ids)]))
        } else {
            print("\n\nSources:")
            for (i, (hit, chunk)) in zip(hits, sources).enumerated() {
                print(String(format: "[%d] %.4f  ", i + 1, hit.score) + "\(chunk.id)  (\(chunk.source))")
            }
        }
        if let signal = interrupt.requested {
            printError("stopped by \(signal) after \(result.ids.count) tokens")
            throw ExitCode(interrupt.exitCode)
        }
    }
}
