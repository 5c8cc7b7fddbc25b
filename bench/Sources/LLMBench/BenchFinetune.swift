// `LLMBench finetune`: two epochs of classification fine-tuning as `llm finetune classify` runs it, each
// timed (the first computes and caches the frozen blocks' output, the second reuses it) —
// GPT-2 124M shape (seeded random weights, dropout 0), everything frozen but the last block, the final
// norm and the head, AdamW lr 5e-5 weight decay 0.1, batch 8 — on the book's SMS spam training split
// (bench/.cache/sms-train.tsv, written by reference/prepare_finetune.py).

import Foundation
import Models
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
    options.epochs = 2
    let trainer = try! ClassifierTrainer(model: model, train: data, validation: nil, test: nil, options: options)
    // The trainer reports examples/s over its training steps so far (evaluations excluded).
    var trainingSeconds: [Int: Double] = [:]
    _ = try! trainer.run(onEvent: { event in
        if case let .step(step, _, _, rate) = event { trainingSeconds[step] = Double(step * options.batchSize) / rate }
    })
    let steps = trainer.stepsPerEpoch, count = steps * options.batchSize
    for (epoch, seconds) in [(1, trainingSeconds[steps]!), (2, trainingSeconds[2 * steps]! - trainingSeconds[steps]!)] {
        emit(["bench": "finetune", "shape": "gpt2 124M, SMS spam, \(count) examples", "variant": "epoch \(epoch), last block trainable",
              "impl": "llm (Swift+C)", "threads": Threads.count, "seconds": seconds, "examples_per_s": Double(count) / seconds,
              "cached_blocks": trainer.cachedBlocks, "peak_rss_gb": peakResidentGB()])
    }
}
