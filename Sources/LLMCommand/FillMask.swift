// `llm fill-mask`: what a BERT trained by masked-language modelling puts behind each [MASK], with the
// probabilities and the shape of the `transformers` fill-mask pipeline's answer.

import ArgumentParser
import Foundation
import Formats
import Inference
import Models
import Tokenizers

struct FillMask: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fill-mask",
        abstract: "Fill each [MASK] of a text with a BERT's most likely tokens.",
        discussion: """
            --model is a BertForMaskedLM directory (config.json, model.safetensors, vocab.txt or tokenizer.json). \
            Prints, per [MASK], the --top-k tokens with their probabilities; --json prints one list per [MASK] of \
            {score, token, token_str, sequence}, as the transformers fill-mask pipeline does. \
            Example: llm fill-mask --model bert-dir "The capital of France is [MASK]."
            """)

    @Option(help: "A BERT model directory with its masked-LM head.") var model: String
    @Option(help: "Tokens to show per [MASK].") var topK = 5
    @Flag(help: "Print one JSON line: a list per [MASK].") var json = false
    @Argument(help: "The text, with one or more [MASK].") var text: String

    func validate() throws {
        guard topK >= 1 else { throw ValidationError("--top-k must be at least 1") }
    }

    func run() throws {
        try requireDirectory(model, flag: "--model")
        guard let tokenizer = try WordPieceTokenizer.load(modelDirectory: model) else {
            throw CommandError("--model \(model): no WordPiece tokenizer (vocab.txt or tokenizer.json): fill-mask needs a BERT directory")
        }
        guard BERTCheckpoint.isBERT(model) else {
            throw CommandError("--model \(model): not a BERT (config.json's model_type is not \"bert\"); fill-mask needs a masked-language model")
        }
        let bert = try BERTCheckpoint.loadMaskedLM(model)
        let answers = try Inference.fillMask(bert, tokenizer: tokenizer, ids: tokenizer.encode(text).ids, topK: topK)
        if json {
            let data = try JSONSerialization.data(withJSONObject: answers.map { $0.map(\.json) }, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for (n, list) in answers.enumerated() {
                if answers.count > 1 { print("[MASK] \(n + 1):") }
                for a in list { print(String(format: "  %.4f  %@", a.score, a.tokenString)) }
            }
        }
    }
}
