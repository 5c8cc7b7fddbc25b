// `llm seq2seq`: the story before self-attention, run. `train` fits an RNN encoder-decoder, without or with Bahdanau
// attention, or the original Transformer, on the synthetic translation task (Training/SyntheticTranslation.swift)
// or a TSV of sentence pairs, and reports exact-match accuracy by sentence length; `translate` translates with a
// trained one (greedy or beam search) and shows where its attention looked.

import ArgumentParser
import Foundation
import Formats
import Models
import NN
import Tensors
import Training

struct Seq2Seq: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seq2seq",
        abstract: "Train and run encoder-decoders: RNNs without and with Bahdanau attention, and the Transformer (the story before self-attention).",
        subcommands: [Seq2SeqTrain.self, Seq2SeqEvaluate.self, Seq2SeqTranslate.self])
}

enum Seq2SeqArchitecture: String, ExpressibleByArgument, CaseIterable {
    case rnn, rnnAttention = "rnn-attention", transformer
}

extension RNN.Cell: ExpressibleByArgument {}

struct Seq2SeqTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an encoder-decoder by teacher forcing and report its accuracy by sentence length.",
        discussion: """
            Without --data, the task is the built-in synthetic translation: English-like sentences of 1 to \
            --train-clauses clauses ("the red fox sees a dog and …") into a made-up language whose adjectives follow \
            their noun, drawn with --seed; the test sentences (another seed) go up to --test-clauses clauses, longer \
            than any seen in training. --data FILE.tsv (source TAB target, words separated by spaces) trains on your \
            pairs instead, holding out every tenth for the test. --model transformer is the original Transformer \
            (sinusoidal positions, post-norm layers, causal self-attention and cross-attention in the decoder): \
            --embedding-size is its width, --hidden-size its feed-forward size, --layers its depth on each side. \
            Prints exact-match and word accuracy per source length (greedy, or --beam N); --json adds a summary \
            line. The output directory holds config.json, model.safetensors and the two vocabularies.
            """)

    @Option(help: "rnn (the decoder sees the source only through the encoder's last state), rnn-attention (Bahdanau) or transformer.")
    var model: Seq2SeqArchitecture = .rnnAttention
    @Option(help: "RNNs: the recurrent cell: tanh, relu, gru or lstm.") var cell: RNN.Cell = .gru
    @Option(help: "Word embedding size (the Transformer's model size d).") var embeddingSize = 64
    @Option(help: "RNNs: the hidden state size (default 128); the Transformer: the feed-forward size (default 256).") var hiddenSize: Int?
    @Option(help: "Layers in the encoder and in the decoder (default 1 for RNNs, 2 for the Transformer).") var layers: Int?
    @Option(help: "Transformer: attention heads.") var heads = 4
    @Option(help: "Transformer: dropout on embeddings, attention weights and sublayer outputs.") var dropout: Float = 0
    @Option(help: "A TSV of sentence pairs (source TAB target) instead of the synthetic task.") var data: String?
    @Option(help: "Synthetic task: the most clauses of a training sentence.") var trainClauses = 4
    @Option(help: "Synthetic task: the most clauses of a test sentence.") var testClauses = 6
    @Option(help: "Synthetic task: training sentences.") var examples = 20_000
    @Option(help: "Optimizer steps.") var steps = 2_000
    @Option(help: "Sentence pairs per step.") var batchSize = 32
    @Option(help: "AdamW learning rate.") var lr: Float = 3e-3
    @Option(help: "Clip gradients to this global L2 norm (0: no clipping).") var gradClip: Float = 1
    @Option(help: "Seed for the data, the weights and the batches.") var seed: UInt64 = 1
    @Option(help: "Translate the test sentences with a beam this wide (1: greedy).") var beam = 1
    @Option(help: "Where to write the model.") var output = "seq2seq-model"
    @Flag(help: "Print a JSON summary as the last line.") var json = false

    func validate() throws {
        guard embeddingSize >= 1, (hiddenSize ?? 1) >= 1, (layers ?? 1) >= 1, heads >= 1 else { throw ValidationError("sizes, --layers and --heads must be at least 1") }
        guard model != .transformer || embeddingSize % heads == 0 else {
            throw ValidationError("--embedding-size \(embeddingSize) must be divisible by --heads \(heads)")
        }
        guard (0..<1).contains(dropout) else { throw ValidationError("--dropout must be in [0, 1)") }
        guard beam >= 1 else { throw ValidationError("--beam must be at least 1") }
        guard trainClauses >= 1, testClauses >= 1 else { throw ValidationError("--train-clauses and --test-clauses must be at least 1") }
        guard examples >= 1, steps >= 1, batchSize >= 1 else { throw ValidationError("--examples, --steps and --batch-size must be at least 1") }
    }

    func run() throws {
        try OutputDirectory.prepare(output, inputs: data.map { [$0] } ?? [])
        let (trainPairs, testPairs, sourceWords, targetWords) = try pairs()
        let (source, target) = (try WordVocabulary(sourceWords), try WordVocabulary(targetWords))
        let train = try trainPairs.map { (source: try source.encode($0.source), target: try target.encode($0.target)) }
        let network: any EncoderDecoder, shape: String
        if model == .transformer {
            let (layers, hidden) = (layers ?? 2, hiddenSize ?? 256)
            let longest = (trainPairs + testPairs).map { max($0.source.count, $0.target.count) }.max() ?? 0
            network = TransformerEncoderDecoder(.init(sourceVocabulary: source.count, targetVocabulary: target.count, modelSize: embeddingSize,
                                                      heads: heads, encoderLayers: layers, decoderLayers: layers, feedForwardSize: hidden,
                                                      dropout: dropout, maxPositions: max(256, 2 * longest + 11)), seed: seed)
            shape = "\(layers) + \(layers) layers, d \(embeddingSize), \(heads) heads, feed-forward \(hidden)"
        } else {
            let (layers, hidden) = (layers ?? 1, hiddenSize ?? 128)
            network = RNNEncoderDecoder(.init(sourceVocabulary: source.count, targetVocabulary: target.count, embeddingSize: embeddingSize,
                                              hiddenSize: hidden, layers: layers, cell: cell, attention: model == .rnnAttention), seed: seed)
            shape = "\(cell.rawValue), \(layers) × \(hidden)"
        }
        let optimizer = AdamW(parameters: network.parameters, learningRate: lr, weightDecay: 0)
        let parameterCount = network.parameters.reduce(0) { $0 + $1.count }
        printError("llm seq2seq train: \(model.rawValue) (\(shape)), \(parameterCount.formatted()) parameters, "
                   + "\(train.count.formatted()) training pairs, \(steps) steps of \(batchSize)")
        var g = SeededGenerator(seed: seed &+ 7)
        var bar = ProgressBar(total: steps, label: "training")
        let start = Date()
        var smoothed: Float?
        for step in 1...steps {
            let batch = TranslationBatch((0..<batchSize).map { _ in train[Int(g.next() % UInt64(train.count))] })
            let loss = network.logits(source: batch.source, sourceLengths: batch.sourceLengths, targetInputs: batch.targetInputs)
                .crossEntropy(targets: batch.targets)
            optimizer.zeroGrad()
            loss.backward()
            if gradClip > 0 { _ = optimizer.clipGradients(maxNorm: gradClip) }
            optimizer.update()
            smoothed = smoothed.map { 0.95 * $0 + 0.05 * loss.item() } ?? loss.item()
            if step % 10 == 0 || step == steps { bar.update(step, String(format: "loss %.3f", smoothed!)) }
        }
        let seconds = Date().timeIntervalSince(start)
        try Seq2SeqDirectory.save(network, sourceWords: sourceWords, targetWords: targetWords, to: output)

        let scores = TranslationScores(network, pairs: testPairs, source: source, target: target, beam: beam)
        printError(String(format: "trained in %.0f s; saved %@", seconds, output))
        scores.report()
        if json {
            print(try jsonLine(["model": model.rawValue, "cell": model == .transformer ? "" : cell.rawValue, "parameters": parameterCount,
                                "steps": steps, "seconds": seconds, "train_loss": smoothed ?? 0, "output": output,
                                "longest_training_source_words": trainPairs.map(\.source.count).max() ?? 0].merging(scores.json) { a, _ in a }))
        }
    }

    func pairs() throws -> ([SyntheticTranslation.Pair], [SyntheticTranslation.Pair], [String], [String]) {
        try Seq2SeqData.pairs(data: data, examples: examples, trainClauses: trainClauses, testClauses: testClauses, seed: seed)
    }
}

enum Seq2SeqData {
    /// Training and test pairs, and both vocabularies (reserved ids first): the synthetic task drawn with `seed` (the
    /// test sentences with another seed), or the pairs of a TSV with every tenth held out.
    static func pairs(data: String?, examples: Int, trainClauses: Int, testClauses: Int, seed: UInt64) throws
        -> ([SyntheticTranslation.Pair], [SyntheticTranslation.Pair], [String], [String]) {
        guard let path = data else {
            let train = SyntheticTranslation.pairs(count: examples, maxClauses: trainClauses, seed: seed)
            let test = SyntheticTranslation.pairs(count: 100 * testClauses, maxClauses: testClauses, seed: seed &+ 1_000_003)
            return (train, test, SyntheticTranslation.sourceVocabulary, SyntheticTranslation.targetVocabulary)
        }
        let text = try Input.text(path)
        var all: [SyntheticTranslation.Pair] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let sides = line.split(separator: "\t", omittingEmptySubsequences: false)
            let words = sides.map { $0.split(separator: " ").map(String.init) }
            guard sides.count == 2, !words[0].isEmpty, !words[1].isEmpty else {
                throw CommandError("\(path):\(i + 1): a line must be a source and a target separated by one tab, both with words")
            }
            all.append(.init(source: words[0], target: words[1]))
        }
        guard all.count >= 10 else { throw CommandError("\(path): \(all.count) sentence pairs; at least 10 are needed (one in ten is held out)") }
        func vocabulary(_ side: KeyPath<SyntheticTranslation.Pair, [String]>) -> [String] {
            var seen = Set(SyntheticTranslation.reserved), words = SyntheticTranslation.reserved
            for pair in all { for w in pair[keyPath: side] where seen.insert(w).inserted { words.append(w) } }
            return words
        }
        let test = all.indices.filter { $0 % 10 == 9 }.map { all[$0] }, train = all.indices.filter { $0 % 10 != 9 }.map { all[$0] }
        return (train, test, vocabulary(\.source), vocabulary(\.target))
    }
}

struct Seq2SeqEvaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a model from llm seq2seq train on its test sentences: exact match and word accuracy by length.",
        discussion: """
            The test sentences are those train scored: the synthetic task's (give the --seed and --test-clauses of \
            training) or every tenth pair of --data. Use it to compare greedy decoding with a beam (--beam N) on one \
            trained model.
            """)

    @Option(help: "A directory written by llm seq2seq train.") var model: String
    @Option(help: "The TSV of sentence pairs the model was trained on (its held-out tenth is scored).") var data: String?
    @Option(help: "Synthetic task: the most clauses of a test sentence.") var testClauses = 6
    @Option(help: "Synthetic task: the seed of training.") var seed: UInt64 = 1
    @Option(help: "Beam width (1: greedy).") var beam = 1
    @Flag(help: "Print a JSON summary as the last line.") var json = false

    func validate() throws {
        guard beam >= 1 else { throw ValidationError("--beam must be at least 1") }
        guard testClauses >= 1 else { throw ValidationError("--test-clauses must be at least 1") }
    }

    func run() throws {
        try requireDirectory(model, flag: "--model")
        let (network, sourceWords, targetWords) = try Seq2SeqDirectory.load(model)
        let (_, testPairs, dataSource, dataTarget) = try Seq2SeqData.pairs(data: data, examples: 1, trainClauses: 1, testClauses: testClauses, seed: seed)
        guard Set(dataSource).isSubset(of: sourceWords), Set(dataTarget).isSubset(of: targetWords) else {
            let missing = Set(dataSource).subtracting(sourceWords).union(Set(dataTarget).subtracting(targetWords)).sorted()
            throw CommandError("\(model) was trained on other vocabularies: \(missing.count) words of the data are not in them (\(missing.prefix(3).joined(separator: ", ")) …)")
        }
        let scores = TranslationScores(network, pairs: testPairs, source: try WordVocabulary(sourceWords), target: try WordVocabulary(targetWords), beam: beam)
        scores.report()
        if json { print(try jsonLine(scores.json.merging(["model": model]) { a, _ in a })) }
    }
}

struct Seq2SeqTranslate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate",
        abstract: "Translate sentences with a model from llm seq2seq train; with attention, show the alignment.",
        discussion: """
            Words are separated by spaces, as in training. Decoding is greedy, or a beam search with --beam N. The \
            alignment is the Bahdanau attention of an RNN, or the Transformer's last-layer cross-attention averaged \
            over its heads. --json prints one line per sentence: {source, translation, alignment}.
            """)

    @Option(help: "A directory written by llm seq2seq train.") var model: String
    @Option(help: "Most output words per sentence.") var maxLength = 64
    @Option(help: "Beam width (1: greedy).") var beam = 1
    @Flag(help: "One JSON line per sentence.") var json = false
    @Option(help: "Draw the attention's alignment of one sentence as a heat map (SVG): output words against source words.")
    var alignment: String?
    @Argument(help: "The sentences to translate.") var sentences: [String]

    func validate() throws {
        guard !sentences.isEmpty else { throw ValidationError("give at least one sentence") }
        guard alignment == nil || sentences.count == 1 else { throw ValidationError("--alignment draws one sentence; give one") }
        guard maxLength >= 1 else { throw ValidationError("--max-length must be at least 1") }
        guard beam >= 1 else { throw ValidationError("--beam must be at least 1") }
    }

    func run() throws {
        try requireDirectory(model, flag: "--model")
        let (network, sourceWords, targetWords) = try Seq2SeqDirectory.load(model)
        if alignment != nil, network.alignmentName == nil {
            throw CommandError("--alignment: \(model) has no attention to draw (it was trained with --model rnn)")
        }
        let (source, target) = (try WordVocabulary(sourceWords), try WordVocabulary(targetWords))
        for sentence in sentences {
            let words = sentence.split(separator: " ").map(String.init)
            guard !words.isEmpty else { throw CommandError("an empty sentence has nothing to translate") }
            if let limit = network.maxSourceLength, words.count > limit {
                throw CommandError("a sentence of \(words.count) words is longer than this model's \(limit) positions")
            }
            let ids: [Int]
            do { ids = try source.encode(words) } catch let error as DatasetError {
                throw CommandError("\(error.description): this model was trained on another vocabulary (\(sourceWords.count - 3) source words)")
            }
            let (out, alignments) = network.translate(ids, begin: 1, end: 2, maxLength: maxLength, beam: beam)
            let translation = target.decode(out).joined(separator: " ")
            if let path = alignment {
                let svg = HeatMaps(title: network.alignmentName!.prefix(1).uppercased() + network.alignmentName!.dropFirst(), rows: target.decode(out), columns: words,
                                   maps: [alignments.flatMap { $0 }], captions: ["output words (rows) × source words"]).svg()
                try Data(svg.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
                printError("wrote \(path): \(out.count) output words × \(words.count) source words")
            }
            if json {
                print(try jsonLine(["source": sentence, "translation": translation,
                                    "alignment": alignments.map { $0.map { (Double($0) * 10_000).rounded() / 10_000 } }]))
            } else {
                print(translation)
                // Where each output word looked: the source word of its largest attention weight.
                if !alignments.isEmpty {
                    let looked = zip(target.decode(out), alignments).map { word, row in "\(word)←\(words[row.indices.max { row[$0] < row[$1] }!])" }
                    printError("  attention: " + looked.joined(separator: " "))
                }
            }
        }
    }
}

/// Exact-match and word accuracy of translations, by source length in words. A word counts as right when it is the
/// reference's word at the same position (so a dropped or an extra word makes the rest of the sentence wrong).
struct TranslationScores {
    struct Length { var sentences = 0, exact = 0, words = 0, wordsRight = 0 }
    var byLength: [Int: Length] = [:]

    init(_ network: any EncoderDecoder, pairs: [SyntheticTranslation.Pair], source: WordVocabulary, target: WordVocabulary, beam: Int) {
        var bar = ProgressBar(total: pairs.count, label: "translating")
        for (i, pair) in pairs.enumerated() {
            let ids = try? source.encode(pair.source)
            let out = ids.map { target.decode(network.translate($0, begin: 1, end: 2, maxLength: 2 * pair.source.count + 10, beam: beam).ids) } ?? []
            var length = byLength[pair.source.count, default: Length()]
            length.sentences += 1
            length.exact += out == pair.target ? 1 : 0
            length.words += pair.target.count
            length.wordsRight += zip(out, pair.target).filter { $0 == $1 }.count
            byLength[pair.source.count] = length
            if (i + 1) % 20 == 0 || i + 1 == pairs.count { bar.update(i + 1) }
        }
        self.beam = beam
    }
    let beam: Int

    var total: Length {
        byLength.values.reduce(Length()) { Length(sentences: $0.sentences + $1.sentences, exact: $0.exact + $1.exact, words: $0.words + $1.words,
                                                  wordsRight: $0.wordsRight + $1.wordsRight) }
    }

    func report() {
        let all = total
        printError(String(format: "test: exact match %.1f %%, word accuracy %.1f %% of %d sentences (%@)",
                          100 * Double(all.exact) / Double(max(all.sentences, 1)), 100 * Double(all.wordsRight) / Double(max(all.words, 1)),
                          all.sentences, beam == 1 ? "greedy" : "beam \(beam)"))
        printError("source words  sentences  exact match  word accuracy")
        for n in byLength.keys.sorted() {
            let l = byLength[n]!
            printError(String(format: "%12d  %9d  %9.1f %%  %11.1f %%", n, l.sentences, 100 * Double(l.exact) / Double(l.sentences),
                              100 * Double(l.wordsRight) / Double(max(l.words, 1))))
        }
    }

    var json: [String: Any] {
        let all = total
        return ["beam": beam, "test_sentences": all.sentences,
                "test_exact_match": Double(all.exact) / Double(max(all.sentences, 1)),
                "test_word_accuracy": Double(all.wordsRight) / Double(max(all.words, 1)),
                "by_source_words": Dictionary(uniqueKeysWithValues: byLength.map { n, l in
                    ("\(n)", ["sentences": l.sentences, "exact_match": Double(l.exact) / Double(l.sentences),
                               "word_accuracy": Double(l.wordsRight) / Double(max(l.words, 1))] as [String: Any])
                })]
    }
}
