// `llm train`: pretrain a GPT on text files (or continue one), with a progress bar, evaluations,
// a loss plot, checkpoints and a JSON summary. `llm demo` runs the same loop on the embedded text. A BERT preset,
// config or directory trains by masked-language modelling instead (TrainMaskedLM.swift), in the same loop.

import ArgumentParser
import Formats
import Foundation
import Models
import NN
import Tensors
import Tokenizers
import Training

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pretrain a GPT by next-token prediction, or a BERT by masked-language modelling, on text files.",
        discussion: """
            The model comes from --preset (\(GPTConfig.presets.keys.sorted().joined(separator: ", ")), book-124m; \
            \(BERTConfig.presets.keys.sorted().joined(separator: ", "))), \
            --config (a config.json: GPT-2, Llama or Qwen3 keys) or --init (a model directory to continue from). Text \
            is tokenized with gpt2, with --init's own tokenizer (tokenizer.json, copied to the output), or with \
            --tokenizer (a .tiktoken file from llm train-tokenizer, or an encoding name; the model's vocabulary is sized \
            to it and the file is saved with the model); files are joined with the end-of-text token; the last \
            --val-fraction of the tokens is held out for validation.

            A BERT (a bert-* preset, a BertConfig, or a BERT directory for --init) trains by masked-language \
            modelling: windows of --context-length tokens (default 128) counting [CLS] and [SEP], 15 % of the tokens \
            chosen anew at every step (80 % [MASK], 10 % random, 10 % kept), the loss on the chosen ones. It tokenizes \
            with --tokenizer, --init's vocabulary, or a WordPiece vocabulary of --vocab-size tokens learnt from the data.

            Under Open MPI's mpirun (`mpirun -np N llm train ...`, Debian's openmpi-bin) it trains data-parallel: \
            --batch-size windows per process, N times that per step, equal to one process with N times the batch; \
            gradients are summed over the processes while the backward pass runs; process 0 writes the output.
            """)

    @Option(help: "A preset architecture.") var preset: String?
    @Option(help: "A config.json (GPT-2, Llama or Qwen3 keys).") var config: String?
    @Option(help: "A model directory whose weights to start from.") var `init`: String?
    @Option(parsing: .upToNextOption, help: "Text files to train on (default: the embedded The Verdict).") var data: [String] = []
    @Option(help: "Tokens per training window (default: the model's context length).") var contextLength: Int?
    @Option(help: "Windows per batch.") var batchSize = 8
    @Option(help: "Passes over the data.") var epochs = 1
    @Option(help: "Stop after this many optimizer steps.") var maxSteps: Int?
    @Option(help: "Peak learning rate.") var lr: Float = 4e-4
    @Option(help: "Decoupled weight decay.") var weightDecay: Float = 0.1
    @Option(help: "Steps of linear warm-up.") var warmupSteps = 0
    @Option(help: "The cosine decay ends at this fraction of the peak rate (1 keeps it constant, as the book does).")
    var minLrFraction: Float = 0.1
    @Option(help: "Clip gradients to this global L2 norm (0: no clipping).") var gradClip: Float = 1.0
    @Option(help: "Micro-batches per optimizer step.") var gradAccumulation = 1
    @Option(help: "Evaluate (and print a sample) every N steps.") var evalEvery = 50
    @Option(help: "Batches of each split per evaluation, the model in evaluation mode (the book's eval_iter; default: all validation batches, as many training batches).")
    var evalBatches: Int?
    @Option(help: "Hold out the last --val-fraction of the tokens, or of the characters (each part then tokenized on its own, as the book does).")
    var splitBy: SplitUnit = .tokens
    @Option(help: "Fraction of the tokens held out for validation.") var valFraction: Double = 0.1
    @Option(help: "Dropout (overrides the configuration).") var dropout: Float?
    @Option(help: "Where to write the model, the loss plot and the run's checkpoints (OUTPUT/checkpoints/step-N).") var output = "llm-model"
    @Option(help: "Seed for initialisation, shuffling and dropout.") var seed: UInt64 = 123
    @Option(help: "Save a checkpoint (model, optimizer, trainer state) every N steps (default: at every evaluation).")
    var saveEvery: Int?
    @Option(help: "Keep the K most recent checkpoints.") var keep = 2
    @Flag(help: "Continue the run from the newest complete checkpoint in --output (same settings as the run).") var resume = false
    @Flag(help: "Print a JSON summary as the last line.") var json = false
    @OptionGroup var precision: PrecisionOption
    @Flag(inversion: .prefixedNo, help: "Under mpirun: sum gradients over the processes while the backward pass runs (or after it).")
    var overlapCommunication = true
    @Option(help: "Under mpirun: megabytes of gradients per sum over the processes (PyTorch DDP's bucket_cap_mb).")
    var bucketMb: Double = 25
    @Option(help: "Under mpirun: 1 shards AdamW's moments over the processes (ZeRO stage 1: each keeps 1/N of them); 0 keeps them whole in each.")
    var zero = 0
    @Option(name: .customLong("tokenizer"), help: "A GPT: a .tiktoken file (llm train-tokenizer) or an encoding name. A BERT: a WordPiece vocab.txt, or a directory holding one.")
    var tokenizerPath: String?
    @Option(help: "BERT: the size of the WordPiece vocabulary learnt from the data when there is no --tokenizer or --init.")
    var vocabSize = 8192
    @Flag(help: "BERT: a cased vocabulary (keep case and accents) when one is learnt or read from a vocab.txt.") var cased = false

    func validate() throws {
        guard [preset, config, `init`].compactMap({ $0 }).count <= 1 else {
            throw ValidationError("give at most one of --preset, --config and --init")
        }
        guard valFraction >= 0 && valFraction < 1 else { throw ValidationError("--val-fraction must be in [0, 1)") }
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        if let s = maxSteps, s < 1 { throw ValidationError("--max-steps must be at least 1") }
        guard minLrFraction >= 0 && minLrFraction <= 1 else { throw ValidationError("--min-lr-fraction must be in [0, 1]") }
        guard gradClip >= 0 else { throw ValidationError("--grad-clip must be >= 0") }
        if let n = saveEvery, n < 1 { throw ValidationError("--save-every must be at least 1") }
        if let n = evalBatches, n < 1 { throw ValidationError("--eval-batches must be at least 1") }
        if splitBy == .characters, data.count == 1, data[0].hasSuffix(".tokens") {
            throw ValidationError("--split-by characters needs text; a .tokens file is split by tokens")
        }
        guard keep >= 1 else { throw ValidationError("--keep must be at least 1") }
        guard bucketMb > 0 && bucketMb <= 4096 else { throw ValidationError("--bucket-mb must be in (0, 4096]") }
        guard zero == 0 || zero == 1 else { throw ValidationError("--zero must be 0 or 1 (optimizer state sharding, ZeRO stage 1)") }
        guard vocabSize >= 16 else { throw ValidationError("--vocab-size must be at least 16") }
    }

    /// The options every family shares; `contextLength` is the window the trainer cuts.
    func trainingOptions(contextLength: Int) -> TrainingOptions {
        var options = TrainingOptions()
        options.contextLength = contextLength
        options.batchSize = batchSize
        options.epochs = epochs
        options.maxSteps = maxSteps
        options.learningRate = lr
        options.weightDecay = weightDecay
        options.warmupSteps = warmupSteps
        options.minLearningRateFraction = minLrFraction
        options.gradientClip = gradClip > 0 ? gradClip : nil
        options.gradientAccumulation = gradAccumulation
        options.evalEvery = evalEvery
        options.evalBatches = evalBatches
        options.seed = seed
        return options
    }

    /// What a resumed run must share with the run it resumes (RunSettings.swift), for every family.
    func runSettings(contextLength: Int, dropout: Float, processes: Int) -> RunSettings {
        var settings = RunSettings()
        settings["--preset"] = preset
        settings["--config"] = config.map(RunSettings.path)
        settings["--init"] = `init`.map(RunSettings.path)
        settings["--tokenizer"] = tokenizerPath.map { BuiltinEncoding(rawValue: $0) != nil ? $0 : RunSettings.path($0) }
        settings["--data"] = data.isEmpty ? "(the embedded The Verdict)" : data.map(RunSettings.path).joined(separator: " ")
        settings["--split-by"] = splitBy.rawValue
        settings["--eval-batches"] = evalBatches.map { "\($0)" }
        // The batch as windows per step over all processes, so a data-parallel run resumes with any number of them.
        for (name, value) in [("--context-length", "\(contextLength)"), ("--batch-size", "\(batchSize * processes)"), ("--lr", "\(lr)"),
                              ("--weight-decay", "\(weightDecay)"), ("--warmup-steps", "\(warmupSteps)"), ("--min-lr-fraction", "\(minLrFraction)"),
                              ("--grad-clip", "\(gradClip)"), ("--grad-accumulation", "\(gradAccumulation)"), ("--val-fraction", "\(valFraction)"),
                              ("--dropout", "\(dropout)"), ("--seed", "\(seed)")] {
            settings[name] = value
        }
        return settings
    }

    func run() throws {
        // Under Open MPI's mpirun: data-parallel, --batch-size per process; rank 0 writes the output.
        let mpi = try OpenMPI.startIfLaunched()
        defer { mpi?.finalize() }
        if (mpi?.rank ?? 0) == 0 { try OutputDirectory.prepare(output, inputs: [`init`, config, tokenizerPath].compactMap { $0 } + data) }
        if try trainsMaskedLM() { return try trainMaskedLM(group: mpi) }
        guard tokenizerPath == nil || `init` == nil else { throw CommandError("--tokenizer: a model from --init keeps its own tokenizer") }
        // --tokenizer: a vocabulary learnt with llm train-tokenizer (or a built-in encoding), which sizes the model's table.
        let chosen = try tokenizerPath.map { name in
            if name.hasSuffix(".txt") || (try? WordPieceTokenizer.load(modelDirectory: name)) != nil {
                throw CommandError("--tokenizer \(name): a WordPiece vocabulary is for a BERT (--preset bert-*); a GPT takes a .tiktoken file or an encoding name")
            }
            do { return try Encoding.load(nameOrPath: name) } catch { throw CommandError("--tokenizer \(name): \(error)") }
        }
        let model: GPTModel
        if let dir = `init` {
            model = try Checkpoint.load(dir)
            model.train()
        } else {
            var c: GPTConfig
            if let path = config {
                guard let d = FileManager.default.contents(atPath: path) else { throw CommandError("--config \(path): cannot read it") }
                do { c = try JSONDecoder().decode(GPTConfig.self, from: d) } catch {
                    throw CommandError("--config \(path): not a valid GPT2Config JSON (\(error.localizedDescription))")
                }
            } else if preset == "book-124m" {
                c = GPTConfig.book124M
                c.contextLength = 256
                c.tieWordEmbeddings = false
            } else {
                c = try GPTConfig.preset(preset ?? "small")
            }
            if let encoding = chosen {
                if config == nil { c.vocabSize = encoding.vocabularySize }
                guard c.vocabSize >= encoding.vocabularySize else {
                    throw CommandError("--config \(config!): vocab_size \(c.vocabSize) is smaller than the tokenizer's \(encoding.vocabularySize) tokens")
                }
            }
            if let p = dropout { c.dropout = p }
            try MemoryCheck.training(c, batchSize: batchSize, contextLength: contextLength ?? c.contextLength)
            model = try GPTModel(c, seed: seed)
        }
        // A model directory's own tokenizer (a Llama or Qwen tokenizer.json) when continuing from one, else gpt2.
        let encoding = try chosen ?? `init`.map { try tokenizer(for: model.config, directory: $0) } ?? Encoding.named("gpt2")
        let options = trainingOptions(contextLength: contextLength ?? model.config.contextLength)
        let split: (train: TokenStore, validation: TokenStore)
        if data.count == 1, data[0].hasSuffix(".tokens") {
            let (store, name) = try TokenFile.open(data[0])
            guard name == encoding.name || (encoding.name == "gpt2" && name == "r50k_base") else {
                throw CommandError("\(data[0]) was tokenized with \(name); this model's tokenizer is \(encoding.name)")
            }
            split = splitTokens(store, valFraction: valFraction)
        } else {
            let texts = data.isEmpty ? [try embeddedVerdict()] : try data.map(Input.text)
            split = splitBy == .tokens ? splitTokens(try tokenize(texts, encoding), valFraction: valFraction)
                : try splitCharacters(texts.joined(separator: "<|endoftext|>"), valFraction: valFraction, encoding: encoding)
        }
        let settings = runSettings(contextLength: options.contextLength, dropout: model.config.dropout, processes: mpi?.size ?? 1)
        if (mpi?.rank ?? 0) == 0 { // the output loads with the same tokenizer
            if let dir = `init` { try copyTokenizerFiles(from: dir, to: output) }
            if chosen != nil, encoding.name != "gpt2" { try encoding.write(tiktokenFile: output + "/" + ownTokenizerFile) }
        }
        try runTraining(objective: NextTokenPrediction(model: model, encoding: encoding), split: split, options: options, output: output, group: mpi,
                        resume: resume, json: json, title: "llm train", saveEvery: saveEvery ?? evalEvery, keep: keep, settings: settings,
                        overlapCommunication: overlapCommunication, bucketBytes: Int(bucketMb * 1_048_576), zeroRedundancy: zero == 1,
                        precision: precision)
    }
}

enum SplitUnit: String, ExpressibleByArgument, CaseIterable {
    case tokens, characters
}

/// Token ids of texts joined with the encoding's end-of-text token (gpt2's <|endoftext|> by default; Llama 3's
/// <|end_of_text|>, Qwen's <|endoftext|>; none if it has neither).
func tokenize(_ texts: [String], _ encoding: Encoding? = nil) throws -> TokenStore {
    let encoding = try encoding ?? Encoding.named("gpt2")
    var ids: [Int] = []
    for (i, text) in texts.enumerated() {
        if i > 0, let separator = encoding.endOfText { ids.append(separator) }
        ids += encoding.encodeOrdinary(text)
    }
    return TokenStore(ids)
}

/// Copies a model directory's tokenizer files (tokenizer.json and its config, vocab.json + merges.txt, ...) into
/// `output`, so a model trained from it is read with the tokenizer it was trained with.
func copyTokenizerFiles(from directory: String, to output: String) throws {
    let names = [ownTokenizerFile, ownTokenizerFile + ".json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt", "vocab.txt",
                 "encoder.json", "vocab.bpe", "generation_config.json"]
    try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
    for name in names {
        let source = (directory as NSString).appendingPathComponent(name), target = (output as NSString).appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: source), source != target else { continue }
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: source, toPath: target)
    }
}

/// Splits, trains with progress, evaluates, saves, plots: shared by `train` and `demo`. Checkpoints go to
/// OUTPUT/checkpoints every `saveEvery` steps (none when nil), at the end, and when Ctrl-C/SIGTERM stops the run.
/// With a data-parallel `group`, every rank trains and rank 0 alone logs and writes.
@discardableResult
func runTraining(objective: PretrainingObjective, split: (train: TokenStore, validation: TokenStore), options: TrainingOptions, output: String,
                 group: DataParallelGroup? = nil, resume: Bool, json: Bool, title: String,
                 saveEvery: Int? = nil, keep: Int = 2, settings: RunSettings = RunSettings(),
                 overlapCommunication: Bool = true, bucketBytes: Int = 25 << 20, zeroRedundancy: Bool = false,
                 precision: PrecisionOption = PrecisionOption()) throws -> TrainingSummary {
    let writes = (group?.rank ?? 0) == 0
    func printError(_ message: String) { if writes { LLMCommand.printError(message) } }
    guard split.train.count > 0 else { throw CommandError("the training text is empty") }
    let trainer = try Trainer(objective: objective, train: split.train, validation: split.validation, options: options, group: group)
    trainer.overlapCommunication = overlapCommunication
    trainer.bucketBytes = bucketBytes
    trainer.zeroRedundancy = zeroRedundancy && group != nil
    let run = ResumableRun(output: output, settings: settings, keep: keep)
    if resume {
        // The newest complete checkpoint; runs saved before checkpoints existed kept their state in OUTPUT itself.
        let legacy = run.checkpoints.newest() == nil && FileManager.default.fileExists(atPath: output + "/trainer_state.json")
        let from = legacy ? output : try run.resumePoint()
        do { try objective.restore(from: from) } catch let error as DatasetError { throw CommandError("--resume: \(error.description)") }
        try trainer.resume(from: from)
        printError("resuming from \(from) at step \(trainer.step) of \(trainer.totalSteps)")
    }
    printError("""
        \(title): \(objective.summary), \(split.train.count.formatted()) training / \(split.validation.count.formatted()) validation tokens, \
        \(trainer.totalSteps) steps of \(options.batchSize) × \(options.contextLength) tokens, \(Threads.count) threads
        """)
    printError(precision.logLine)
    if let group {
        printError("data-parallel over \(group.size) processes (Open MPI): \(group.size) × \(options.batchSize) = " +
                   "\(group.size * options.batchSize) windows per step, gradients averaged " +
                   (overlapCommunication ? "during each backward pass" : "after each backward pass") +
                   String(format: " in buckets of %.3g MB", Double(bucketBytes) / 1_048_576))
    }
    if trainer.zeroRedundancy {
        printError(String(format: "optimizer state sharded (ZeRO-1): %.0f MB per process instead of %.0f MB",
                          Double(2 * trainer.model.parameterCount * 4) / Double(group!.size) / 1_048_576,
                          Double(2 * trainer.model.parameterCount * 4) / 1_048_576))
    }
    if trainer.step == 0, let v = precision.run({ trainer.validationLoss() }) {
        printError(String(format: "step 0: validation loss %.3f (a uniform guess over %d tokens: %.3f)", v, objective.vocabularySize,
                          Foundation.log(Double(objective.vocabularySize))))
    }
    var bar = ProgressBar(total: trainer.totalSteps, label: "training", enabled: writes)
    var lastStatus = "", stepsPeakMemory: Double?
    // Every process passes the save (ZeRO-1 gathers the optimizer state from all); the first one writes.
    let summary = try precision.run {
        try trainer.run(saveEvery: saveEvery, save: saveEvery == nil ? nil : { t in if writes { try run.save(step: t.step, t.save) } },
                        stopRequested: { run.stopRequested }) { event in
            switch event {
            case let .step(step, total, loss, lr, tps):
                if step == total { stepsPeakMemory = peakResidentGigabytes() } // before the last evaluation and save
                lastStatus = String(format: "loss %.3f lr %.1e %.0f tok/s", loss, lr, tps)
                bar.update(step, lastStatus)
            case let .evaluation(record):
                let val = record.validationLoss.map { String(format: "val %.3f (ppl %.1f)", $0, Foundation.exp($0)) } ?? "no validation split"
                printError(String(format: "\nstep %d: train %.3f, %@ (last step's running loss %.3f) | %@", record.step, record.trainLoss, val,
                                  record.runningTrainLoss ?? .nan, record.sample.replacingOccurrences(of: "\n", with: " ")))
            }
        }
    }
    if group != nil {
        printError(String(format: "communication: %.2f s of %.1f s waiting for gradient sums after backward passes (%.1f %%)",
                          trainer.communicationWaitSeconds, summary.seconds, 100 * trainer.communicationWaitSeconds / max(summary.seconds, 1e-9)))
    }
    if trainer.stoppedEarly { throw run.stopped(at: trainer.step, of: trainer.totalSteps) }
    guard writes else { return summary }
    try objective.save(to: output, metadata: ["step": "\(trainer.step)"])
    var plot = LinePlot(title: "\(title): loss against tokens seen", xLabel: "tokens seen", yLabel: "cross-entropy loss (nats)")
    plot.series.append(.init(name: "train (running)", points: summary.trainCurve.map { (Double($0[0]), Double($0[1])) }))
    plot.series.append(.init(name: "train (eval)", points: summary.evaluations.map { (Double($0.tokensSeen), Double($0.trainLoss)) }))
    let validation = summary.evaluations.compactMap { e in e.validationLoss.map { (Double(e.tokensSeen), Double($0)) } }
    if !validation.isEmpty { plot.series.append(.init(name: "validation (eval)", points: validation)) }
    try plot.write(to: URL(fileURLWithPath: output + "/loss.svg"))
    printError(String(format: "done: %d steps, %d tokens in %.1f s (%.0f tokens/s); saved %@ (model, loss.svg%@)",
                      summary.steps, summary.tokens, summary.seconds, summary.tokensPerSecond, output,
                      saveEvery == nil ? "" : ", checkpoints"))
    if json {
        // train_loss as the book reports it (evaluation mode, --eval-batches); the last step's running loss beside it.
        var object: [String: Any] = ["steps": summary.steps, "tokens": summary.tokens,
                                     "train_loss": summary.evaluations.last?.trainLoss ?? summary.trainLoss,
                                     "running_train_loss": summary.trainLoss, "tokens_per_second": summary.tokensPerSecond, "output": output]
        object["val_loss"] = summary.validationLoss ?? NSNull()
        object["median_step_seconds"] = summary.medianStepSeconds
        object["peak_rss_gb"] = peakResidentGigabytes()
        object["peak_rss_gb_steps"] = stepsPeakMemory ?? NSNull() // the training steps alone (no evaluation, no save)
        object.merge(precision.jsonFields) { $1 }
        if let group {
            object["processes"] = group.size
            object["communication_wait_seconds"] = trainer.communicationWaitSeconds
        }
        print(try jsonLine(object))
    }
    return summary
}

/// This process's peak resident memory so far (getrusage; Linux reports kilobytes, macOS bytes).
func peakResidentGigabytes() -> Double {
    var usage = rusage()
    #if os(Linux)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1_048_576
    #else
    getrusage(RUSAGE_SELF, &usage)
    return Double(usage.ru_maxrss) / 1_073_741_824
    #endif
}
