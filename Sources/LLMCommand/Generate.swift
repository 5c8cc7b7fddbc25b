// `llm generate`: continue a prompt with a trained model, streaming tokens as they come.

import ArgumentParser
import Foundation
import Inference
import Models
import Server
import Tensors
import Tokenizers

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate text from a prompt with a trained model.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Text to continue.") var prompt: String
    @Option(help: "Tokens to generate.") var maxNewTokens = 50
    @Option(help: "0 is greedy (deterministic); higher is more varied.") var temperature: Float = 0.8
    @Option(help: "Sample only among the K likeliest tokens.") var topK: Int?
    @Option(help: "Sample only among the likeliest tokens whose probabilities add up to P.") var topP: Float?
    @Option(help: "Seed for sampling.") var seed: UInt64 = 0
    @Flag(help: "Keep going past <|endoftext|> and the model's end tokens.") var ignoreEndOfText = false
    @Flag(help: "Treat --prompt as a user's chat message, formatted with the model's chat template; print only the answer.")
    var chat = false
    @Option(help: "A system message before the user's (with --chat).") var system: String?
    @Option(help: "The chat template for --chat: alpaca, plain, llama3 or chatml (default: the model's, else plain).")
    var chatTemplate: String?
    @Option(help: "Convert the weights to f32, f16, bf16 or q8_0 after loading (default: as stored).") var weights: WeightType?
    @Flag(help: "Print one JSON object {text, ids, tokens_per_second} instead of streaming.") var json = false

    func validate() throws {
        guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be at least 1") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be >= 0") }
        if let k = topK, k < 1 { throw ValidationError("--top-k must be at least 1") }
        if let p = topP, !(p > 0 && p <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        guard !prompt.isEmpty else { throw ValidationError("--prompt must not be empty") }
        if let t = chatTemplate, ChatTemplate(rawValue: t) == nil {
            throw ValidationError("--chat-template must be one of \(ChatTemplate.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if (system != nil || chatTemplate != nil) && !chat { throw ValidationError("--system and --chat-template go with --chat") }
    }

    /// The prompt's ids, what to echo before the answer, and the tokens that end it: with --chat, the messages
    /// in the chat template (special tokens as ids, the messages as text) ending at its end-of-turn tokens;
    /// otherwise the prompt as given (special tokens in it allowed) ending at <|endoftext|> and the model's
    /// end tokens (eos_token_id).
    private func promptAndEnds(_ encoding: Encoding, _ config: GPTConfig) throws -> (ids: [Int], echo: String, ends: Set<Int>) {
        var ends = Set(encoding.specialTokens["<|endoftext|>"].map { [$0] } ?? []).union(config.endTokenIds)
        guard chat else { return (try encoding.encode(prompt, allowedSpecial: .all), prompt, ignoreEndOfText ? [] : ends) }
        let template = modelOptions.chatTemplate(chatTemplate)
        let messages = (system.map { [ChatTemplate.Message(role: "system", content: $0)] } ?? []) + [.init(role: "user", content: prompt)]
        ends.formUnion(template.endOfTurnTokens(encoding))
        do {
            return (try template.tokens(messages, encoding: encoding), "", ignoreEndOfText ? [] : ends)
        } catch {
            throw CommandError("\(error)")
        }
    }

    func run() throws {
        guard modelOptions.runsOnInferenceModel else { return try runOnGPTModel() }
        let (model, encoding) = try modelOptions.loadInference(weights: weights)
        let (ids, echo, ends) = try promptAndEnds(encoding, model.config)
        var options = SamplingOptions(maxNewTokens: maxNewTokens, temperature: temperature, topK: topK, topP: topP, seed: seed,
                                      stopTokens: ends, stopStrings: chat ? modelOptions.chatTemplate(chatTemplate).stopStrings : [])
        let interrupt = announce(promptTokens: ids.count, contextLength: model.config.contextLength, options: &options)
        if !json { print(echo, terminator: "") }
        let result = try model.generate(prompt: ids, encoding: encoding, options: options) { piece in
            if !json { print(piece, terminator: ""); fflush(nil) }
        }
        try stopIfInterrupted(interrupt, result)
        if json {
            print(try jsonLine(["text": result.text, "ids": result.ids, "tokens_per_second": result.tokensPerSecond,
                                "weights": model.typeDescription]))
        } else {
            print()
            printError(String(format: "%d tokens, %.1f tokens/s (%@ weights)", result.ids.count, result.tokensPerSecond,
                              model.typeDescription))
        }
    }

    /// Says up front what a long request means, and makes Ctrl-C end generation cleanly.
    private func announce(promptTokens: Int, contextLength: Int, options: inout SamplingOptions) -> Interrupt {
        if promptTokens >= contextLength {
            printError("note: the prompt has \(promptTokens) tokens; the model reads \(contextLength), so it is cropped from the left")
        }
        if min(promptTokens, contextLength - 1) + maxNewTokens > contextLength {
            printError("note: \(maxNewTokens) new tokens run past the model's context of \(contextLength) tokens: from there on each " +
                       "token is predicted from the last \(contextLength - 1), and the window is read again for every token, " +
                       "which is much slower; Ctrl-C stops cleanly")
        }
        let interrupt = Interrupt.install()
        options.stopRequested = { interrupt.requested != nil }
        return interrupt
    }

    private func stopIfInterrupted(_ interrupt: Interrupt, _ result: GenerationResult) throws {
        guard let signal = interrupt.requested else { return }
        print()
        printError(String(format: "stopped by %@ after %d tokens (%.1f tokens/s)", signal, result.ids.count, result.tokensPerSecond))
        throw ExitCode(interrupt.exitCode)
    }

    /// GPT-2 variants with rotary or ALiBi positions: GPTModel's own forward pass, fp32.
    private func runOnGPTModel() throws {
        guard weights == nil || weights == .f32 else { throw CommandError("--weights needs a model with learned or sinusoidal positions") }
        let (model, encoding) = try modelOptions.load()
        let (ids, echo, ends) = try promptAndEnds(encoding, model.config)
        var options = SamplingOptions(maxNewTokens: maxNewTokens, temperature: temperature, topK: topK, topP: topP, seed: seed,
                                      stopTokens: ends, stopStrings: chat ? modelOptions.chatTemplate(chatTemplate).stopStrings : [])
        let interrupt = announce(promptTokens: ids.count, contextLength: model.config.contextLength, options: &options)
        if !json { print(echo, terminator: "") }
        let result = try model.generate(prompt: ids, encoding: encoding, options: options) { piece in
            if !json { print(piece, terminator: ""); fflush(nil) }
        }
        try stopIfInterrupted(interrupt, result)
        if json {
            print(try jsonLine(["text": result.text, "ids": result.ids, "tokens_per_second": result.tokensPerSecond, "weights": "f32"]))
        } else {
            print()
            printError(String(format: "%d tokens, %.1f tokens/s", result.ids.count, result.tokensPerSecond))
        }
    }
}
