// `llm finetune classify` and `llm finetune instruct`: the two fine-tuning routes of the book
// (chapters 6 and 7), in full or with LoRA adapters. Both read and check all their input before
// writing anything, show a progress bar with examples/s, and write a model directory, plots and a
// metrics file into --output.

import ArgumentParser
import Formats
import Foundation
import Models
import NN
import Server
import Tensors
import Tokenizers
import Training

struct Finetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune a GPT: a text classifier from labelled texts, or an assistant from instructions.",
        subcommands: [FinetuneClassify.self, FinetuneInstruct.self])
}

/// Options both routes share.
struct FineTuningArguments: ParsableArguments {
    @Option(help: "The pretrained model directory (config.json + model.safetensors), or ORG/NAME downloaded with llm download.",
            transform: ModelOptions.resolve)
    var model: String
    @Option(help: "Passes over the training split.") var epochs: Int?
    @Option(help: "Examples per batch.") var batchSize = 8
    @Option(help: "AdamW learning rate.") var lr: Float = 5e-5
    @Option(help: "AdamW decoupled weight decay.") var weightDecay: Float = 0.1
    @Option(help: "Clip gradients to this global L2 norm (0: no clipping, as the book).") var gradClip: Float = 0
    @Option(help: "Dropout while fine-tuning (the book fine-tunes without).") var dropout: Float = 0
    @Option(help: "Train LoRA adapters of this rank instead of the weights (the rest of the model is frozen).") var loraRank: Int?
    @Option(help: "LoRA scale numerator: the update is (alpha / rank) · A · B.") var loraAlpha: Float = 16
    @Option(help: "Seed for the split, shuffling, the new weights and dropout.") var seed: UInt64 = 123
    @Option(help: "Directory to write the fine-tuned model, plots and metrics into (checkpoints: OUTPUT/checkpoints/step-N).")
    var output: String
    @Option(help: "Also save a checkpoint every N steps (always: at the end of every epoch, and on Ctrl-C).") var saveEvery: Int?
    @Option(help: "Keep the K most recent checkpoints.") var keep = 2
    @Flag(help: "Continue from the newest complete checkpoint in --output (same settings as the run).") var resume = false
    @Flag(help: "Print a JSON summary as the last line.") var json = false
    @OptionGroup var precision: PrecisionOption

    func validate() throws {
        if let e = epochs, e < 1 { throw ValidationError("--epochs must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number") }
        guard weightDecay >= 0, gradClip >= 0 else { throw ValidationError("--weight-decay and --grad-clip must be >= 0") }
        guard dropout >= 0 && dropout < 1 else { throw ValidationError("--dropout must be in [0, 1)") }
        if let r = loraRank, r < 1 { throw ValidationError("--lora-rank must be at least 1") }
        guard loraAlpha > 0, loraAlpha.isFinite else { throw ValidationError("--lora-alpha must be positive") }
        if let n = saveEvery, n < 1 { throw ValidationError("--save-every must be at least 1") }
        guard keep >= 1 else { throw ValidationError("--keep must be at least 1") }
    }

    /// The settings both routes record in their checkpoints (see RunSettings); each adds its own.
    var settings: RunSettings {
        var s = RunSettings()
        s["--model"] = RunSettings.path(model)
        for (name, value) in [("--batch-size", "\(batchSize)"), ("--lr", "\(lr)"), ("--weight-decay", "\(weightDecay)"),
                              ("--grad-clip", "\(gradClip)"), ("--dropout", "\(dropout)"), ("--seed", "\(seed)")] {
            s[name] = value
        }
        s["--lora-rank"] = loraRank.map { "\($0)" }
        s["--lora-alpha"] = loraRank.map { _ in "\(loraAlpha)" }
        return s
    }

    /// Checkpointing for this run; with --resume, `resume` is given the checkpoint to continue from.
    func resumableRun(_ settings: RunSettings, resume restore: (String) throws -> Void) throws -> ResumableRun {
        let run = ResumableRun(output: output, settings: settings, keep: keep)
        if resume {
            let from = try run.resumePoint()
            try restore(from)
            printError("resuming from \(from)")
        }
        return run
    }

    func options(defaultEpochs: Int) -> FineTuningOptions {
        var o = FineTuningOptions()
        o.epochs = epochs ?? defaultEpochs
        o.batchSize = batchSize
        o.learningRate = lr
        o.weightDecay = weightDecay
        o.gradientClip = gradClip > 0 ? gradClip : nil
        o.seed = seed
        return o
    }

    /// The pretrained language model (with its lm_head only when `keepHead`), dropout applied.
    func loadModel(keepHead: Bool) throws -> (GPTModel, Encoding) {
        try requireDirectory(model, flag: "--model")
        var gpt = try Checkpoint.load(model, dropOutputHead: !keepHead)
        if dropout != gpt.config.dropout { gpt = try withDropout(gpt, dropout) }
        let encoding = try tokenizer(for: gpt.config, directory: model)
        guard encoding.endOfText != nil else {
            throw CommandError("the tokenizer has no end-of-text token (<|endoftext|> or <|end_of_text|>) to end and pad examples with")
        }
        return (gpt, encoding)
    }

    /// Sets up what trains: LoRA adapters only (when --lora-rank is given), or what `freeze` leaves
    /// trainable. Returns the number of trainable parameters.
    func prepareTraining(_ model: some LoRAAdaptable, freeze: () -> Void) -> Int {
        if let rank = loraRank {
            model.setTrainable(false)
            model.applyLoRA(rank: rank, alpha: loraAlpha, seed: seed)
        } else {
            freeze()
        }
        let trainable = model.trainableParameters.reduce(0) { $0 + $1.count }
        printError("trainable parameters: \(trainable.formatted()) of \(model.parameterCount.formatted())"
                   + (loraRank.map { " (LoRA rank \($0), alpha \(loraAlpha.formatted()))" } ?? ""))
        return trainable
    }

    /// Writes the LoRA adapters (when training them) into output/adapter, then folds them in.
    func saveAdapters(_ model: some LoRAAdaptable) throws {
        guard let rank = loraRank else { return }
        try LoRAAdapter.save(model, rank: rank, alpha: loraAlpha, to: output + "/adapter")
        model.mergeLoRA()
    }
}

/// The same model with another dropout rate (the weights are shared, not copied).
func withDropout(_ model: GPTModel, _ p: Float) throws -> GPTModel {
    var config = model.config
    config.dropout = p
    let copy = try Initialization.withoutRandomValues { try GPTModel(config) }
    for ((_, dst), (_, src)) in zip(copy.namedParameters, model.namedParameters) { dst.shareStorage(with: src) }
    return copy
}

func parseColumn(_ s: String) -> LabeledTextFile.Column { Int(s).map { .index($0) } ?? .name(s) }

/// "--split TRAIN,VALIDATION" as two fractions; the test split is the rest.
func splitFractions(_ split: String, example: String) throws -> (Double, Double) {
    let parts = split.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard parts.count == 2, let train = parts[0], let val = parts[1], train > 0, val >= 0, train + val <= 1 else {
        throw ValidationError("--split takes two fractions, training and validation, e.g. \(example) (they may not add up to more than 1)")
    }
    return (train, val)
}

struct FinetuneClassify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Fine-tune a GPT or a BERT into a text classifier (book chapter 6).",
        discussion: """
            Reads a CSV or TSV file (.tsv: tab-separated) with a label column and a text column, optionally \
            balances the classes by undersampling, splits it into training, validation and test sets with --seed, and \
            replaces the model's output head with a linear layer from the last token's hidden state to one logit per class. \
            A BERT directory (--model) classifies from its pooled [CLS] state instead (or, with --pooling mean, from the \
            mean of its tokens' last states), and is written as a BertForSequenceClassification. \
            By default only the last transformer block, the final norm and the new head train (the book's choice; on a \
            BERT the last layer, the pooler and the head); \
            --trainable-blocks all trains everything, --lora-rank trains LoRA adapters instead. Loss and accuracy on every \
            split are printed after each epoch; training stops early when the validation loss has not improved for \
            --patience epochs, keeping the best epoch's weights.
            Example (the book's SMS spam run): llm finetune classify --model MODEL --data SMSSpamCollection.tsv --balance --output spam-classifier
            """)

    @OptionGroup var common: FineTuningArguments
    @Option(help: "CSV or TSV file of labelled texts.") var data: String
    @Option(help: "Label column: a 0-based index or a header name.") var labelColumn = "0"
    @Option(help: "Text column: a 0-based index or a header name.") var textColumn = "1"
    @Flag(help: "Undersample every class to the size of the rarest.") var balance = false
    @Option(help: "Training and validation fractions; the test split is the rest.") var split = "0.7,0.1"
    @Option(help: "Keep at most this many tokens of each text (default: the model's context length).") var maxLength: Int?
    @Option(help: "How many of the last transformer blocks train (with the final norm and the head), or \"all\".")
    var trainableBlocks = "1"
    @Option(help: "Stop after this many epochs without a lower validation loss (0: never).") var patience = 2
    @Flag(help: "Also write the three splits to OUTPUT/splits/{train,validation,test}.csv (as the book does).") var saveSplits = false
    @Option(help: "A BERT: what the head reads, the pooled [CLS] state (cls, transformers' way) or the mean of the tokens' states (mean).")
    var pooling: BERTForSequenceClassification.Pooling?

    func fractions() throws -> (Double, Double) { try splitFractions(split, example: "0.7,0.1") }

    func validate() throws {
        _ = try fractions()
        if let m = maxLength, m < 1 { throw ValidationError("--max-length must be at least 1") }
        guard trainableBlocks == "all" || (Int(trainableBlocks) ?? -1) >= 0 else {
            throw ValidationError("--trainable-blocks takes a number of blocks or \"all\"")
        }
        guard patience >= 0 else { throw ValidationError("--patience must be >= 0") }
    }

    func run() throws {
        let (trainFraction, valFraction) = try fractions()
        if pooling != nil, !BERTCheckpoint.isBERT(common.model) { throw CommandError("--pooling is for a BERT; a GPT classifier reads its last token") }
        try OutputDirectory.prepare(common.output, inputs: [common.model, data])
        var examples = try LabeledTextFile.read(data, labelColumn: parseColumn(labelColumn), textColumn: parseColumn(textColumn))
        let counts = Dictionary(grouping: examples, by: \.label).mapValues(\.count)
        printError("\(data): \(examples.count) examples (\(counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")))")
        if balance {
            examples = ClassificationData.balanced(examples, seed: common.seed)
            printError("balanced: \(examples.count) examples")
        }
        let parts = seededSplit(examples, fractions: [trainFraction, valFraction], seed: common.seed)
        let labels = ClassificationData.labels(of: parts[0])
        guard labels.count >= 2 else { throw CommandError("\(data): the training split has only the label \(labels.first ?? "?"); a classifier needs two") }
        // A GPT reads the last token of each text; a BERT its pooled [CLS] ([CLS] text [SEP], cut to fit).
        let model: any SequenceClassifier, sets: [ClassificationDataset], maxTokens: Int, blocks: Int
        let saveModel: (String, [String: String]) throws -> Void
        if BERTCheckpoint.isBERT(common.model) {
            let pooling = pooling ?? .cls
            guard let wordPiece = try WordPieceTokenizer.load(modelDirectory: common.model) else {
                throw CommandError("--model \(common.model): a BERT directory without vocab.txt or a WordPiece tokenizer.json")
            }
            let bert = try BERTCheckpoint.load(common.model, pooler: pooling == .cls, seed: common.seed, dropout: common.dropout)
            maxTokens = min(maxLength ?? bert.config.maxPositions, bert.config.maxPositions)
            guard maxTokens >= 3 else { throw CommandError("--max-length must be at least 3 for a BERT ([CLS], a token, [SEP])") }
            sets = try parts.map { try ClassificationDataset($0, classes: labels, path: data) { wordPiece.encode($0, maxLength: maxTokens).ids } }
            let classifier = BERTForSequenceClassification(bert: bert, labels: labels, dropout: common.dropout, seed: common.seed, pooling: pooling)
            (model, blocks) = (classifier, bert.layers.count)
            saveModel = { directory, _ in try BERTCheckpoint.save(classifier, to: directory) }
        } else {
            let (backbone, encoding) = try common.loadModel(keepHead: false)
            maxTokens = min(maxLength ?? backbone.config.contextLength, backbone.config.contextLength)
            sets = try parts.map { try ClassificationDataset($0, classes: labels, encoding: encoding, maxLength: maxTokens, path: data) }
            let classifier = GPTClassifier(backbone: backbone, labels: labels, padTokenId: backbone.config.padTokenId ?? encoding.endOfText!, seed: common.seed)
            (model, blocks) = (classifier, backbone.blocks.count)
            saveModel = { try classifier.save(to: $0, metadata: $1) }
        }
        printError("split: \(sets[0].count) training / \(sets[1].count) validation / \(sets[2].count) test; "
                   + "classes: \(labels.joined(separator: ", ")); longest text \(sets[0].ids.map(\.count).max()!) tokens (max \(maxTokens))")
        if trainableBlocks != "all", let n = Int(trainableBlocks), n > blocks {
            throw CommandError("--trainable-blocks \(n): the model has only \(blocks) blocks")
        }
        let trainable = common.prepareTraining(model) { model.freezeAllBut(lastBlocks: trainableBlocks == "all" ? nil : Int(trainableBlocks)) }
        var options = common.options(defaultEpochs: 5)
        options.patience = patience > 0 ? patience : nil
        let trainer = try ClassifierTrainer(model: model, train: sets[0], validation: sets[1], test: sets[2], options: options)
        var settings = common.settings
        for (name, value) in [("--data", RunSettings.path(data)), ("--label-column", labelColumn), ("--text-column", textColumn),
                              ("--balance", "\(balance)"), ("--split", split), ("--max-length", "\(maxTokens)"),
                              ("--trainable-blocks", trainableBlocks), ("--pooling", pooling?.rawValue ?? "default")] {
            settings[name] = value
        }
        let run = try common.resumableRun(settings, resume: trainer.resume)
        let start = Date()
        let totalSteps = trainer.stepsPerEpoch * options.epochs
        printError(common.precision.logLine)
        var bar = ProgressBar(total: totalSteps, label: "fine-tuning")
        var examplesPerSecond = 0.0
        let history = try common.precision.run {
            try trainer.run(saveEvery: common.saveEvery, save: { t in try run.save(step: t.step, t.save) },
                            stopRequested: { run.stopRequested }) { event in
                switch event {
                case let .step(step, _, loss, rate):
                    examplesPerSecond = rate
                    bar.update(step, String(format: "loss %.3f %.1f examples/s", loss, rate))
                case let .classificationEpoch(m):
                    func split(_ name: String, _ loss: Float?, _ accuracy: Float?) -> String? {
                        guard let loss, let accuracy else { return nil }
                        return String(format: "%@ loss %.3f acc %.2f%%", name, loss, accuracy * 100)
                    }
                    printError("\nepoch \(m.epoch): " + [split("train", m.trainLoss, m.trainAccuracy), split("val", m.validationLoss, m.validationAccuracy),
                                                          split("test", m.testLoss, m.testAccuracy)].compactMap { $0 }.joined(separator: " | "))
                case let .stoppedEarly(epoch, best):
                    printError("stopping early after epoch \(epoch): no better validation loss for \(options.patience!) epochs; keeping epoch \(best)")
                case .evaluation: break
                }
            }
        }
        if trainer.stoppedEarly { throw run.stopped(at: trainer.step, of: totalSteps) }
        let seconds = Date().timeIntervalSince(start)
        let kept = history.first { $0.epoch == trainer.bestEpoch } ?? history.last!

        try common.saveAdapters(model)
        try saveModel(common.output, ["epochs": "\(history.count)"])
        try copyTokenizerFiles(from: common.model, to: common.output)
        if saveSplits {
            try FileManager.default.createDirectory(atPath: common.output + "/splits", withIntermediateDirectories: true)
            for (name, part) in zip(["train", "validation", "test"], parts) {
                try LabeledTextFile.writeCSV(part, to: common.output + "/splits/\(name).csv")
            }
        }
        try writeClassificationReport(history, kept: kept, to: common.output)
        printError(String(format: "kept epoch %d: test accuracy %@, validation accuracy %@; %.0f s; saved %@",
                          kept.epoch, percent(kept.testAccuracy), percent(kept.validationAccuracy), seconds, common.output))
        if common.json {
            var object: [String: Any] = ["epochs": history.count, "kept_epoch": kept.epoch, "train_accuracy": kept.trainAccuracy,
                                         "train_loss": kept.trainLoss, "examples_per_second": examplesPerSecond,
                                         "trainable_parameters": trainable, "labels": labels, "output": common.output]
            object["validation_accuracy"] = kept.validationAccuracy ?? NSNull()
            object["validation_loss"] = kept.validationLoss ?? NSNull()
            object["test_accuracy"] = kept.testAccuracy ?? NSNull()
            object["test_loss"] = kept.testLoss ?? NSNull()
            object.merge(common.precision.jsonFields) { $1 }
            print(try jsonLine(object))
        }
    }
}

func percent(_ x: Float?) -> String { x.map { String(format: "%.2f%%", $0 * 100) } ?? "n/a" }

/// metrics.json plus loss.svg and accuracy.svg (every split against the epoch).
func writeClassificationReport(_ history: [ClassificationMetrics], kept: ClassificationMetrics, to directory: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    struct Report: Encodable { let epochs: [ClassificationMetrics]; let keptEpoch: Int }
    try encoder.encode(Report(epochs: history, keptEpoch: kept.epoch))
        .write(to: URL(fileURLWithPath: directory + "/metrics.json"), options: .atomic)
    for (name, value) in [("loss", { (m: ClassificationMetrics) in [m.trainLoss, m.validationLoss, m.testLoss] }),
                          ("accuracy", { (m: ClassificationMetrics) in [m.trainAccuracy, m.validationAccuracy, m.testAccuracy].map { $0.map { $0 * 100 } } })] {
        var plot = LinePlot(title: "classification fine-tuning: \(name) per epoch", xLabel: "epoch",
                            yLabel: name == "loss" ? "cross-entropy loss (nats)" : "accuracy (%)")
        for (i, split) in ["train", "validation", "test"].enumerated() {
            let points = history.compactMap { m in value(m)[i].map { (Double(m.epoch), Double($0)) } }
            if !points.isEmpty { plot.series.append(.init(name: split, points: points)) }
        }
        try plot.write(to: URL(fileURLWithPath: directory + "/\(name).svg"))
    }
}

struct FinetuneInstruct: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instruct",
        abstract: "Fine-tune a GPT to follow instructions (book chapter 7).",
        discussion: """
            Reads Alpaca-style records {"instruction", "input", "output"} from a JSON array or JSONL file, splits them \
            into training, validation and test sets with --seed (book: 85/5/10), formats each in the Alpaca prompt style and \
            trains on next-token prediction; padding (and with --mask-prompt the prompt) does not count in the loss. \
            Afterwards the model answers every test instruction (greedy) and the answers are written, with the records, \
            to --responses (default: beside the data, NAME-with-response.json). --judge-url scores each answer 0–100 through \
            an OpenAI-compatible chat endpoint (the book uses Llama 3 in Ollama: --judge-url http://localhost:11434/v1 --judge-model llama3).
            """)

    @OptionGroup var common: FineTuningArguments
    @Option(help: "JSON array or JSONL file of {instruction, input, output} records.") var data: String
    @Option(help: "Training and validation fractions; the test split is the rest.") var split = "0.85,0.05"
    @Flag(help: "Leave the prompt tokens out of the loss: only the response is learned.") var maskPrompt = false
    @Option(help: "Evaluate the losses every N steps.") var evalEvery = 5
    @Option(help: "Batches per split in each evaluation.") var evalBatches = 5
    @Option(help: "Most tokens per generated answer.") var maxNewTokens = 256
    @Option(help: "Where to write the test split with the model's answers.") var responses: String?
    @Option(help: "Score the answers through this OpenAI-compatible endpoint (…/v1 or …/v1/chat/completions).") var judgeUrl: String?
    @Option(help: "Model name to ask at --judge-url.") var judgeModel = "llama3"

    func fractions() throws -> (Double, Double) { try splitFractions(split, example: "0.85,0.05") }

    func validate() throws {
        _ = try fractions()
        guard evalEvery >= 1, evalBatches >= 1 else { throw ValidationError("--eval-every and --eval-batches must be at least 1") }
        guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be at least 1") }
        if let url = judgeUrl { _ = try Judge(url: url, model: judgeModel) }
    }

    var responsesPath: String {
        responses ?? ((data as NSString).deletingPathExtension + "-with-response.json")
    }

    func run() throws {
        let (trainFraction, valFraction) = try fractions()
        try OutputDirectory.prepare(common.output, inputs: [common.model, data])
        let examples = try InstructionFile.read(data)
        let parts = seededSplit(examples, fractions: [trainFraction, valFraction], seed: common.seed)
        let (model, encoding) = try common.loadModel(keepHead: true)
        let responsesDirectory = (responsesPath as NSString).deletingLastPathComponent
        guard FileManager.default.isWritableFile(atPath: responsesDirectory.isEmpty ? "." : responsesDirectory) else {
            throw CommandError("cannot write \(responsesPath) (use --responses to put the answers elsewhere)")
        }
        let (train, validation) = (InstructionDataset(parts[0], encoding: encoding), InstructionDataset(parts[1], encoding: encoding))
        let longest = train.sequences.map(\.count).max()! + 1
        printError("\(data): \(examples.count) records; split \(parts[0].count) training / \(parts[1].count) validation / \(parts[2].count) test; "
                   + "longest example \(longest) tokens" + (longest > model.config.contextLength ? " (cut to the context, \(model.config.contextLength))" : ""))
        let trainable = common.prepareTraining(model) { model.setTrainable(true) }
        let trainer = try InstructionTrainer(model: model, train: train, validation: validation, options: common.options(defaultEpochs: 2))
        trainer.maskPrompt = maskPrompt
        trainer.evalEvery = evalEvery
        trainer.evalBatches = evalBatches
        var settings = common.settings
        for (name, value) in [("--data", RunSettings.path(data)), ("--split", split), ("--mask-prompt", "\(maskPrompt)")] { settings[name] = value }
        let run = try common.resumableRun(settings, resume: trainer.resume)
        if trainer.step == 0 {
            printError(String(format: "before training: train loss %.3f, validation loss %.3f",
                              trainer.meanLoss(on: train, limit: evalBatches), trainer.meanLoss(on: validation, limit: evalBatches)))
        }
        let start = Date()
        let totalSteps = trainer.stepsPerEpoch * trainer.options.epochs
        printError(common.precision.logLine)
        var bar = ProgressBar(total: totalSteps, label: "fine-tuning")
        var examplesPerSecond = 0.0, lastLoss: Float = .nan
        let evaluations = try common.precision.run {
            try trainer.run(saveEvery: common.saveEvery, save: { t in try run.save(step: t.step, t.save) },
                            stopRequested: { run.stopRequested }) { event in
                switch event {
                case let .step(step, _, loss, rate):
                    examplesPerSecond = rate
                    lastLoss = loss
                    bar.update(step, String(format: "loss %.3f %.1f examples/s", loss, rate))
                case let .evaluation(step, trainLoss, validationLoss):
                    if step % (evalEvery * 10) == 0 || step == totalSteps {
                        printError(String(format: "\nstep %d: train %.3f, validation %@", step, trainLoss,
                                          validationLoss.map { String(format: "%.3f", $0) } ?? "n/a"))
                    }
                case .classificationEpoch, .stoppedEarly: break
                }
            }
        }
        if trainer.stoppedEarly { throw run.stopped(at: trainer.step, of: totalSteps) }
        let seconds = Date().timeIntervalSince(start)
        try common.saveAdapters(model)
        try Checkpoint.save(model, to: common.output, metadata: ["task": "instruction"])
        try copyTokenizerFiles(from: common.model, to: common.output)
        try ChatTemplate.alpaca.store(in: common.output) // `llm serve` formats chat messages the way this model learned
        try writeInstructionReport(evaluations, to: common.output)

        var answered: [[String: Any]] = []
        var answerBar = ProgressBar(total: parts[2].count, label: "answering the test split")
        for (i, example) in parts[2].enumerated() {
            let response = try model.respond(to: example, encoding: encoding, maxNewTokens: maxNewTokens)
            answered.append(["instruction": example.instruction, "input": example.input, "output": example.output, "model_response": response])
            answerBar.update(i + 1)
        }
        var meanScore: Double?
        if let url = judgeUrl {
            let judge = try Judge(url: url, model: judgeModel)
            var scores: [Int] = []
            var judgeBar = ProgressBar(total: answered.count, label: "judging")
            for (i, example) in parts[2].enumerated() {
                let score = try judge.score(example, response: answered[i]["model_response"] as! String)
                answered[i]["score"] = score
                scores.append(score)
                judgeBar.update(i + 1)
            }
            meanScore = scores.isEmpty ? nil : Double(scores.reduce(0, +)) / Double(scores.count)
        } else {
            printError("no --judge-url: answers not scored (see --help for scoring with a local model)")
        }
        let out = try JSONSerialization.data(withJSONObject: answered, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try out.write(to: URL(fileURLWithPath: responsesPath), options: .atomic)
        if let first = answered.first {
            printError("example — instruction: \(first["instruction"]!)\n  expected: \(first["output"]!)\n  model: \(first["model_response"]!)")
        }
        printError(String(format: "done in %.0f s; final validation loss %@; answers for %d test records in %@%@; model in %@",
                          seconds, evaluations.last?.validationLoss.map { String(format: "%.3f", $0) } ?? "n/a", answered.count,
                          responsesPath, meanScore.map { String(format: " (mean score %.1f)", $0) } ?? "", common.output))
        if common.json {
            var object: [String: Any] = ["steps": evaluations.last?.step ?? 0, "train_loss": lastLoss, "examples_per_second": examplesPerSecond,
                                         "responses": responsesPath, "output": common.output,
                                         "trainable_parameters": trainable]
            object["val_loss"] = evaluations.last?.validationLoss ?? NSNull()
            object["mean_score"] = meanScore ?? NSNull()
            object.merge(common.precision.jsonFields) { $1 }
            print(try jsonLine(object))
        }
    }
}

/// metrics.json and loss.svg (training and validation loss against tokens seen).
func writeInstructionReport(_ evaluations: [InstructionEvaluation], to directory: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    try encoder.encode(evaluations).write(to: URL(fileURLWithPath: directory + "/metrics.json"), options: .atomic)
    var plot = LinePlot(title: "instruction fine-tuning: loss", xLabel: "tokens seen", yLabel: "cross-entropy loss (nats)")
    plot.series.append(.init(name: "train", points: evaluations.map { (Double($0.tokensSeen), Double($0.trainLoss)) }))
    let validation = evaluations.compactMap { e in e.validationLoss.map { (Double(e.tokensSeen), Double($0)) } }
    if !validation.isEmpty { plot.series.append(.init(name: "validation", points: validation)) }
    try plot.write(to: URL(fileURLWithPath: directory + "/loss.svg"))
}
