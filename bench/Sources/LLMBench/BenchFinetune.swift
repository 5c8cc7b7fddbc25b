// `LLMBench finetune`: one epoch of classification fine-tuning as `llm finetune classify` runs it —
// GPT-2 124M shape (seeded random weights, dropout 0), everything frozen but the last block, the final
// norm and the head, AdamW lr 5e-5 weight decay 0.1, batch 8 — on the book's SMS spam training split
// (bench/.cache/sms-train.tsv, written by reference/prepare_finetune.py).

import Foundation
import GPT
import NN
import Tensors
import Tokenizers
import Training

func benchFinetune(_ args: [String]) {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".cache/sms-train.tsv").path
    let examples = try! LabeledTextFile.read(path)
    let data = try! ClassificationDataset(examples, classes: ["ham", "spam"], encoding: Encoding.named("gpt2"), maxLength: 1024, path: path)
    var config = try! GPTConfig.preset("gpt2")
    config.dropout = 0
    let model = GPTClassifier(backbone: try! GPTModel(config, seed: 1), labels: ["ham", "spam"], seed: 2)
    model.freezeAllBut(lastBlocks: 1)
    var options = FineTuningOptions()
    options.epochs = 1
    let trainer = try! ClassifierTrainer(model: model, train: data, validation: nil, test: nil, options: options)
    var rate = 0.0
    let start = Date()
    _ = try! trainer.run { event in if case let .step(_, _, _, examplesPerSecond) = event { rate = examplesPerSecond } }
    let examples = trainer.stepsPerEpoch * options.batchSize
    emit(["bench": "finetune", "shape": "gpt2 124M, SMS spam, \(examples) examples", "variant": "one epoch, last block trainable",
          "impl": "llm (Swift+C)", "threads": Threads.count, "seconds": Double(examples) / rate, "examples_per_s": rate,
          "epoch_with_evaluation_seconds": Date().timeIntervalSince(start), "peak_rss_gb": peakResidentGB()])
}
