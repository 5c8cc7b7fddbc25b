// `llm eval`: a model's loss and perplexity on a text.

import ArgumentParser
import Formats
import Foundation
import Inference
import Models
import Tensors
import Tokenizers

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a model's loss and perplexity on a text.",
        discussion: """
            GPTs: mean next-token cross-entropy over non-overlapping context-length windows. BERTs (a BertForMaskedLM \
            directory): the masked-LM loss — sequences of up to 128 tokens with [CLS] and [SEP], 15 % of the tokens \
            chosen (80 % [MASK], 10 % random, 10 % kept) with a fixed seed, the loss over the chosen ones.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Text file (default: the embedded The Verdict).") var input: String?
    @Option(help: "Convert the weights to f32, f16, bf16 or q8_0 after loading (default: as stored).") var weights: WeightType?
    @Flag(help: "Print {tokens, loss, perplexity} as JSON.") var json = false

    func run() throws {
        if BERTCheckpoint.isBERT(modelOptions.model) { return try runOnBERT() }
        guard modelOptions.runsOnInferenceModel else { return try runOnGPTModel() }
        let (model, encoding) = try modelOptions.loadInference(weights: weights)
        let text = try input.map(Input.text) ?? embeddedVerdict()
        let ids = encoding.encodeOrdinary(text)
        let window = model.config.contextLength, vocab = model.config.vocabSize
        guard ids.count >= 2 else { throw CommandError("the text has \(ids.count) token(s); at least 2 are needed") }
        var total: Double = 0, counted = 0
        var start = 0
        var bar = ProgressBar(total: ids.count - 1, label: "tokens")
        while start + 1 < ids.count {
            let end = min(start + window, ids.count - 1)
            let cache = KVSlots(slots: 1, config: model.config)
            // 256 positions per forward pass keep the logits (256 x V floats) small.
            for chunk in stride(from: start, to: end, by: 256) {
                let stop = min(chunk + 256, end)
                let logits = model.forward(tokens: Array(ids[chunk..<stop]), slots: Array(repeating: 0, count: stop - chunk),
                                           positions: Array((chunk - start)..<(stop - start)), cache: cache,
                                           logitsFor: Array(0..<(stop - chunk)))
                for r in 0..<(stop - chunk) {
                    total += crossEntropy(logits[(r * vocab)..<((r + 1) * vocab)], target: ids[chunk + r + 1])
                }
                counted += stop - chunk
                bar.update(counted)
            }
            start = end
        }
        let loss = total / Double(counted)
        try report(loss: loss, counted: counted, weights: model.typeDescription)
    }

    /// Rotary and ALiBi models: GPTModel's forward pass, fp32, one window at a time.
    private func runOnGPTModel() throws {
        guard weights == nil || weights == .f32 else { throw CommandError("--weights needs a model with learned or sinusoidal positions") }
        let (model, encoding) = try modelOptions.load()
        let text = try input.map(Input.text) ?? embeddedVerdict()
        let ids = encoding.encodeOrdinary(text)
        guard ids.count >= 2 else { throw CommandError("the text has \(ids.count) token(s); at least 2 are needed") }
        var total: Double = 0, counted = 0, start = 0
        while start + 1 < ids.count {
            let end = min(start + model.config.contextLength, ids.count - 1)
            let x = Array(ids[start..<end]), y = Array(ids[(start + 1)...end])
            let loss = Autograd.withNoGrad { model(x, batch: 1).crossEntropy(targets: y) }.item()
            total += Double(loss) * Double(y.count)
            counted += y.count
            start = end
        }
        try report(loss: total / Double(counted), counted: counted, weights: "f32")
    }

    /// A BERT's masked-LM loss on the text, masks drawn with seed 0 so runs compare.
    private func runOnBERT() throws {
        guard weights == nil || weights == .f32 else { throw CommandError("--weights: a BERT runs in f32 here") }
        let directory = modelOptions.model
        guard let tokenizer = try WordPieceTokenizer.load(modelDirectory: directory) else {
            throw CommandError("--model \(directory): a BERT without a WordPiece tokenizer (vocab.txt or tokenizer.json)")
        }
        guard let maskToken = tokenizer.mask else { throw CommandError("--model \(directory): the vocabulary has no [MASK] token") }
        let bert = try BERTCheckpoint.loadMaskedLM(directory)
        let ids = tokenizer.encode(try input.map(Input.text) ?? embeddedVerdict())
        guard !ids.isEmpty else { throw CommandError("the text has no tokens") }
        let length = min(128, bert.config.maxPositions) - 2
        let mlm = MaskedLanguageModeling(maskToken: maskToken, vocabularySize: bert.config.vocabSize,
                                         special: [tokenizer.classifier, tokenizer.separator, tokenizer.padding])
        var generator = SeededGenerator(seed: 0)
        var total = 0.0, chosen = 0
        var bar = ProgressBar(total: ids.count, label: "tokens")
        for start in stride(from: 0, to: ids.count, by: length) {
            let sequence = [tokenizer.classifier] + ids[start..<min(start + length, ids.count)] + [tokenizer.separator]
            let (inputs, labels) = mlm.mask(sequence, generator: &generator)
            let n = labels.filter { $0 != -100 }.count
            if n > 0 {
                total += Double(Autograd.withNoGrad { bert.loss(inputs, labels: labels).item() }) * Double(n)
                chosen += n
            }
            bar.update(min(start + length, ids.count))
        }
        guard chosen > 0 else { throw CommandError("the text is too short: no token was chosen to mask") }
        let loss = total / Double(chosen)
        if json {
            print(try jsonLine(["masked_tokens": chosen, "tokens": ids.count, "loss": loss, "perplexity": Foundation.exp(loss), "objective": "mlm"]))
        } else {
            print(String(format: "%d tokens, %d masked: masked-LM loss %.4f, perplexity %.2f", ids.count, chosen, loss, Foundation.exp(loss)))
        }
    }

    private func report(loss: Double, counted: Int, weights: String) throws {
        if json {
            print(try jsonLine(["tokens": counted, "loss": loss, "perplexity": Foundation.exp(loss), "weights": weights]))
        } else {
            print(String(format: "%d tokens: loss %.4f, perplexity %.2f (%@ weights)", counted, loss, Foundation.exp(loss), weights))
        }
    }

    /// -log softmax(logits)[target], in Double.
    private func crossEntropy(_ logits: ArraySlice<Float>, target: Int) -> Double {
        let top = Double(logits.max()!)
        let sum = logits.reduce(0.0) { $0 + Foundation.exp(Double($1) - top) }
        return top + Foundation.log(sum) - Double(logits[logits.startIndex + target])
    }
}
