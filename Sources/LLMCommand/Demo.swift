// `llm demo`: the main job, on an embedded default, offline. Trains a small character-level model on
// Edith Wharton's "The Verdict" (the book's pretraining text, shipped in the package), shows the
// losses falling, writes a loss plot, and generates a continuation of a prompt.
//
// When the GPT lands (see the issues), this command moves to training a small GPT on the same text.

import ArgumentParser
import Foundation
import NN
import Tensors

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a small language model on an embedded text and generate from it (no network needed).")

    @Option(help: "Training steps.") var steps = 1500
    @Option(help: "Examples per step.") var batchSize = 64
    @Option(help: "Characters the model sees before predicting the next one.") var context = 8
    @Option(help: "Peak learning rate (cosine decay to a tenth of it).") var lr: Float = 3e-3
    @Option(help: "Seed for initialisation, batches and sampling.") var seed: UInt64 = 42
    @Option(help: "Text the generated continuation starts from.") var prompt = "I had always thought"
    @Option(help: "Characters to generate.") var length = 300
    @Option(help: "Sampling temperature (0 picks the likeliest character).") var temperature: Float = 0.7
    @Option(help: "Folder for the loss plot and the generated sample.") var output = "llm-demo-output"
    @Flag(help: "Print a JSON summary as the last line.") var json = false

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        guard (1...256).contains(context) else { throw ValidationError("--context must be in 1...256, got \(context)") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number, got \(lr)") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be >= 0, got \(temperature)") }
        guard length >= 0 else { throw ValidationError("--length must be >= 0, got \(length)") }
    }

    func run() throws {
        guard let url = Bundle.module.url(forResource: "the-verdict", withExtension: "txt"),
              let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw ValidationError("the embedded training text is missing from the build")
        }
        let characters = Array(text.unicodeScalars)
        let vocabulary = Array(Set(characters)).sorted { $0.value < $1.value }
        let index = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, $0) })
        let unknown = Set(prompt.unicodeScalars.filter { index[$0] == nil })
        guard unknown.isEmpty else {
            throw ValidationError("--prompt uses characters the text never shows: \(unknown.map { String($0) }.sorted().joined())")
        }
        let ids = characters.map { index[$0]! }
        let split = ids.count * 9 / 10 // 90% training, 10% validation, as the book splits it
        let outputURL = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: outputURL, withIntermediateDirectories: true)

        var rng = SeededGenerator(seed: seed)
        let model = CharacterMLP(context: context, vocabulary: vocabulary.count, generator: &rng)
        let optimizer = AdamW(parameters: model.parameters, learningRate: lr, weightDecay: 0.01)
        log("""
            Training a character-level MLP (\(model.parameterCount.formatted()) parameters, \(Threads.count) threads) \
            on "The Verdict": \(ids.count.formatted()) characters, vocabulary \(vocabulary.count), \
            context \(context), batch \(batchSize), \(steps) steps.
            """)

        // Every (context, next character) pair that fits in a split.
        func batch(from range: Range<Int>, count: Int, rng: inout SeededGenerator) -> ([Int], [Int]) {
            var inputs: [Int] = [], targets: [Int] = []
            for _ in 0..<count {
                let end = range.lowerBound + context + Int(rng.next() % UInt64(range.count - context))
                inputs += ids[(end - context)..<end]
                targets.append(ids[end])
            }
            return (inputs, targets)
        }
        func validationLoss() -> Float {
            var evalRng = SeededGenerator(seed: 0) // the same validation examples at every evaluation
            let (x, y) = batch(from: split..<ids.count, count: 2048, rng: &evalRng)
            return Autograd.withNoGrad { model.logits(x, batch: y.count).crossEntropy(targets: y).item() }
        }

        var trainCurve: [(x: Double, y: Double)] = [], validationCurve: [(x: Double, y: Double)] = []
        let initialValidation = validationLoss()
        validationCurve.append((0, Double(initialValidation)))
        log("step 0: validation loss \(fmt(initialValidation)) (uniform guessing: \(fmt(Foundation.log(Float(vocabulary.count)))))")
        var progress = ProgressBar(total: steps, label: "training")
        let start = Date()
        var smoothed = initialValidation
        let evalEvery = max(steps / 10, 1)
        for step in 1...steps {
            optimizer.learningRate = cosineSchedule(step: step, total: steps, peak: lr)
            let (x, y) = batch(from: 0..<split, count: batchSize, rng: &rng)
            let loss = model.logits(x, batch: batchSize).crossEntropy(targets: y)
            optimizer.zeroGrad()
            loss.backward()
            optimizer.update()
            smoothed = 0.95 * smoothed + 0.05 * loss.item()
            trainCurve.append((Double(step), Double(smoothed)))
            if step % evalEvery == 0 || step == steps {
                let v = validationLoss()
                validationCurve.append((Double(step), Double(v)))
                progress.update(step, "loss \(fmt(smoothed)) val \(fmt(v))")
            } else if step % 10 == 0 {
                progress.update(step, "loss \(fmt(smoothed))")
            }
        }
        let seconds = Date().timeIntervalSince(start)
        let finalValidation = Float(validationCurve.last!.y)
        log("trained in \(String(format: "%.1f", seconds)) s (\(String(format: "%.0f", Double(steps) / seconds)) steps/s): " +
            "train loss \(fmt(smoothed)), validation loss \(fmt(initialValidation)) → \(fmt(finalValidation))")

        let plotURL = outputURL.appendingPathComponent("loss.svg")
        try LinePlot(title: "llm demo: character MLP on The Verdict", xLabel: "step", yLabel: "cross-entropy loss (nats)",
                     series: [.init(name: "train (smoothed)", points: trainCurve),
                              .init(name: "validation", points: validationCurve)]).write(to: plotURL)

        // Generation: feed the last `context` characters, sample the next, repeat.
        var sampleRng = SeededGenerator(seed: seed)
        var generated = prompt.unicodeScalars.map { index[$0]! }
        let padding = index[" "] ?? 0
        print(prompt, terminator: "")
        for _ in 0..<length {
            let window = Array((Array(repeating: padding, count: context) + generated).suffix(context))
            let logits = Autograd.withNoGrad { model.logits(window, batch: 1) }.scalars
            let next = sample(logits, temperature: temperature, rng: &sampleRng)
            generated.append(next)
            print(String(vocabulary[next]), terminator: "")
            fflush(nil) // all streams: show each character as it comes
        }
        print()
        fflush(nil)
        let sampleText = String(String.UnicodeScalarView(generated.map { vocabulary[$0] }))
        try sampleText.data(using: .utf8)!.write(to: outputURL.appendingPathComponent("sample.txt"), options: .atomic)
        log("wrote \(plotURL.path) and \(outputURL.appendingPathComponent("sample.txt").path)")

        if json {
            let summary: [String: Any] = [
                "steps": steps, "parameters": model.parameterCount, "seconds": seconds,
                "initial_val_loss": initialValidation, "val_loss": finalValidation, "train_loss": smoothed,
                "plot": plotURL.path,
            ]
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
            print(String(data: data, encoding: .utf8)!)
        }
    }

    private func log(_ message: String) {
        FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
    }
}

/// Linear decay would also do; cosine keeps the rate high longer, then settles (as GPT-2/3 training).
func cosineSchedule(step: Int, total: Int, peak: Float, floor: Float = 0.1) -> Float {
    let progress = Float(step - 1) / Float(max(total - 1, 1))
    return peak * (floor + (1 - floor) * 0.5 * (1 + Foundation.cos(.pi * progress)))
}

/// Picks an index from logits: the largest at temperature 0, else a draw from softmax(logits / T).
func sample(_ logits: [Float], temperature: Float, rng: inout SeededGenerator) -> Int {
    if temperature == 0 { return logits.indices.max { logits[$0] < logits[$1] }! }
    let top = logits.max()!
    let weights = logits.map { Foundation.exp(($0 - top) / temperature) }
    var r = rng.nextUniform() * weights.reduce(0, +)
    for (i, w) in weights.enumerated() {
        r -= w
        if r < 0 { return i }
    }
    return weights.count - 1
}

func fmt(_ x: Float) -> String { String(format: "%.3f", x) }
