// `llm eval`: a model's loss and perplexity on a text.

import ArgumentParser
import Foundation
import GPT
import Tensors

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a model's loss and perplexity on a text.",
        discussion: "Mean next-token cross-entropy over non-overlapping context-length windows.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Text file (default: the embedded The Verdict).") var input: String?
    @Flag(help: "Print {tokens, loss, perplexity} as JSON.") var json = false

    func run() throws {
        let (model, encoding) = try modelOptions.load()
        let text = try input.map(Input.text) ?? embeddedVerdict()
        let ids = encoding.encodeOrdinary(text)
        let window = model.config.contextLength
        guard ids.count >= 2 else { throw CommandError("the text has \(ids.count) token(s); at least 2 are needed") }
        var total: Double = 0, counted = 0
        var start = 0
        while start + 1 < ids.count {
            let end = min(start + window, ids.count - 1)
            let x = Array(ids[start..<end]), y = Array(ids[(start + 1)...end])
            let loss = Autograd.withNoGrad { model(x, batch: 1).crossEntropy(targets: y) }.item()
            total += Double(loss) * Double(y.count)
            counted += y.count
            start = end
        }
        let loss = total / Double(counted)
        if json {
            print(try jsonLine(["tokens": counted, "loss": loss, "perplexity": Foundation.exp(loss)]))
        } else {
            print(String(format: "%d tokens: loss %.4f, perplexity %.2f", counted, loss, Foundation.exp(loss)))
        }
    }
}
