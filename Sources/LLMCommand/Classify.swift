// `llm classify`: label texts with a classifier that `llm finetune classify` made (or a `transformers`
// GPT2ForSequenceClassification or BertForSequenceClassification directory), optionally, for a GPT, as a base model
// plus a LoRA adapter.

import ArgumentParser
import Formats
import Foundation
import Models
import Tokenizers

struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify texts with a fine-tuned classifier.",
        discussion: "Prints each text's most likely label and its probability; --json prints one object per text.")

    @Option(help: "Classifier directory; with --adapter, the base language model directory.") var model: String
    @Option(help: "A classifier's LoRA adapter directory (the output/adapter of a --lora-rank fine-tuning).") var adapter: String?
    @Option(help: "A file with one text per line to classify as well.") var file: String?
    @Argument(help: "Texts to classify.") var texts: [String] = []
    @Flag(help: "One JSON object per text: {text, label, probability, probabilities}.") var json = false

    func validate() throws {
        guard !texts.isEmpty || file != nil else { throw ValidationError("give texts to classify, or --file") }
    }

    func run() throws {
        try requireDirectory(model, flag: "--model")
        var all = texts
        if let file { all += try Input.text(file).split(whereSeparator: \.isNewline).map(String.init) }
        let classifier: any SequenceClassifier, ids: [[Int]]
        if BERTCheckpoint.isBERT(model) {
            guard adapter == nil else { throw CommandError("--adapter is for GPT classifiers; a BERT classifier's directory holds its merged weights") }
            let bert = try BERTCheckpoint.loadClassifier(model)
            guard let wordPiece = try WordPieceTokenizer.load(modelDirectory: model) else { throw CommandError("\(model): no vocab.txt or WordPiece tokenizer.json") }
            (classifier, ids) = (bert, all.map { wordPiece.encode($0, maxLength: bert.maxTokens).ids })
            if let empty = ids.firstIndex(where: { $0.count <= 2 }) { throw CommandError("text \(empty + 1) is empty") } // [CLS] [SEP] alone
        } else {
            let gpt = try adapter.map { try GPTClassifier.load(base: model, adapter: $0) } ?? GPTClassifier.load(model)
            gpt.mergeLoRA()
            let encoding = try tokenizer(for: gpt.backbone.config, directory: model)
            (classifier, ids) = (gpt, all.map { encoding.encodeOrdinary($0) })
            if let empty = ids.firstIndex(where: \.isEmpty) { throw CommandError("text \(empty + 1) is empty") }
        }
        for (text, p) in zip(all, classifier.probabilities(ids)) {
            let best = p.indices.max { p[$0] < p[$1] }!
            if json {
                let byLabel = Dictionary(uniqueKeysWithValues: zip(classifier.labels, p.map(Double.init)))
                print(try jsonLine(["text": text, "label": classifier.labels[best], "probability": Double(p[best]), "probabilities": byLabel]))
            } else {
                print(String(format: "%@\t%.3f\t%@", classifier.labels[best], p[best], text))
            }
        }
    }
}
