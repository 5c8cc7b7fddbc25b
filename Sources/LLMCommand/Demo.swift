// `llm demo`: the main job, on an embedded default, offline. Pretrains a small GPT on Edith
// Wharton's "The Verdict" (the book's pretraining text, shipped in the package) for about two
// minutes on two cores, shows the losses falling, saves a checkpoint and a loss plot, and generates a
// continuation of the book's prompt "Every effort moves you".
//
// Like the book's chapter 5 run, the model sees one short story many times: the training loss falls
// far below the validation loss (it memorises), which is the point the book makes about overfitting.

import ArgumentParser
import Foundation
import Inference
import Models
import NN
import Tensors
import Tokenizers
import Training

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pretrain a small GPT on an embedded text and generate from it (no network, no arguments needed).")

    @Option(help: "Optimizer steps.") var steps = 100
    @Option(help: "Windows per step.") var batchSize = 8
    @Option(help: "Peak learning rate (warm-up, then cosine decay).") var lr: Float = 1e-3
    @Option(help: "Seed for initialisation, batches, dropout and sampling.") var seed: UInt64 = 42
    @Option(help: "Text the generated continuation starts from.") var prompt = "Every effort moves you"
    @Option(help: "Tokens to generate.") var length = 60
    @Option(help: "Sampling temperature (0 is greedy).") var temperature: Float = 0.7
    @Option(help: "Folder for the checkpoint, the loss plot and the sample.") var output = "llm-demo-output"
    @Flag(help: "Print a JSON summary as the last line.") var json = false
    @OptionGroup var precision: PrecisionOption

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number, got \(lr)") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be >= 0, got \(temperature)") }
        guard length >= 1 else { throw ValidationError("--length must be at least 1, got \(length)") }
        guard !prompt.isEmpty else { throw ValidationError("--prompt must not be empty") }
    }

    func run() throws {
        // 4 blocks, 256 wide, 4 heads, 128-token context: about 16M parameters, 13M of them the
        // token embeddings GPT-2's 50,257-token vocabulary needs.
        let config = GPTConfig(contextLength: 128, embeddingSize: 256, layers: 4, heads: 4, dropout: 0.1)
        let model = try GPTModel(config, seed: seed)
        var options = TrainingOptions()
        options.contextLength = 128
        options.stride = 64
        options.batchSize = batchSize
        options.epochs = 1_000
        options.maxSteps = steps
        options.learningRate = lr
        options.warmupSteps = min(20, steps / 5)
        options.evalEvery = max(steps / 4, 1)
        options.seed = seed
        options.samplePrompt = prompt
        let summary = try runTraining(objective: NextTokenPrediction(model: model, encoding: Encoding.named("gpt2")),
                                      split: splitTokens(try tokenize([try embeddedVerdict()]), valFraction: 0.1), options: options,
                                      output: output, resume: false, json: false, title: "llm demo",
                                      precision: precision)
        printError("\nGenerating (temperature \(temperature), seed \(seed)):\n")
        let encoding = try Encoding.named("gpt2")
        print(prompt, terminator: "")
        let result = try model.generate(prompt: encoding.encodeOrdinary(prompt), encoding: encoding,
                                        options: SamplingOptions(maxNewTokens: length, temperature: temperature, topK: 40, seed: seed)) { piece in
            print(piece, terminator: "")
            fflush(nil)
        }
        print()
        fflush(nil)
        try (prompt + result.text).data(using: .utf8)!.write(to: URL(fileURLWithPath: output + "/sample.txt"), options: .atomic)
        printError("\nwrote \(output)/ (config.json, model.safetensors, loss.svg, sample.txt); try: swift run -c release llm generate --model \(output) --prompt \"\(prompt)\"")
        if json {
            var object: [String: Any] = ["steps": summary.steps, "tokens": summary.tokens, "train_loss": summary.trainLoss,
                                         "tokens_per_second": summary.tokensPerSecond, "sample": prompt + result.text]
            object["val_loss"] = summary.validationLoss ?? NSNull()
            object.merge(precision.jsonFields) { $1 }
            print(try jsonLine(object))
        }
    }
}
