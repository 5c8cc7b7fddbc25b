// `llm word2vec`: train word vectors (skip-gram or CBOW with negative sampling, gensim's defaults and
// meanings), then look at them: nearest neighbours, analogies, the standard evaluations, a 2-D picture.

import ArgumentParser
import Foundation
import Formats
import Models
import Tensors

struct Word2Vec: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "word2vec",
        abstract: "Train word2vec vectors (skip-gram or CBOW) and explore them: neighbours, analogies, evaluations, plots.",
        subcommands: [Word2VecTrain.self, Word2VecSimilar.self, Word2VecAnalogy.self, Word2VecEvaluate.self, Word2VecPlot.self],
        defaultSubcommand: Word2VecTrain.self)
}

enum Word2VecArchitecture: String, EnumerableFlag {
    case cbow, skipGram
    static func help(for value: Word2VecArchitecture) -> ArgumentHelp? {
        value == .cbow ? "The mean of the context predicts the word (gensim's default, sg=0)." : "The word predicts each context word (sg=1)."
    }
}

struct Word2VecTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train word vectors on whitespace-tokenised text (a line a sentence, as gensim's LineSentence).",
        discussion: """
            Writes OUTPUT/vectors.txt (word2vec's text format, which gensim's KeyedVectors.load_word2vec_format reads) \
            and OUTPUT/vectors.bin (the binary format). Defaults are gensim's. Example: llm word2vec --data corpus.txt \
            --output vectors --skip-gram
            """)

    @Option(parsing: .upToNextOption, help: "Text files: one sentence a line, words separated by white space.") var data: [String]
    @Option(name: [.short, .long], help: "Folder for vectors.txt and vectors.bin.") var output: String
    @Flag var architecture: Word2VecArchitecture = .cbow
    @Option(help: "Dimensions of each vector.") var vectorSize = 100
    @Option(help: "Words on each side of the centre word (shrunk at random per position).") var window = 5
    @Option(help: "Words seen fewer times are left out.") var minCount = 5
    @Option(help: "Noise words per target (negative sampling).") var negative = 5
    @Option(help: "Subsampling threshold for frequent words (0: none).") var sample = 1e-3
    @Option(help: "Initial learning rate.") var alpha = 0.025
    @Option(help: "Final learning rate (linear decay over all words of all epochs).") var minAlpha = 0.0001
    @Option(help: "Passes over the text.") var epochs = 5
    @Option(help: "Seed for the initial vectors and the random draws.") var seed: UInt64 = 1
    @Option(help: "Worker threads (default: LLM_NUM_THREADS or all cores).") var threads: Int?
    @Flag(help: "Print a JSON summary as the last line.") var json = false

    func validate() throws {
        guard !data.isEmpty else { throw ValidationError("give at least one --data file") }
        guard vectorSize >= 1 && vectorSize <= 10_000 else { throw ValidationError("--vector-size must be from 1 to 10000") }
        guard window >= 1 else { throw ValidationError("--window must be at least 1") }
        guard minCount >= 1 else { throw ValidationError("--min-count must be at least 1") }
        guard negative >= 1 && negative <= 64 else { throw ValidationError("--negative must be from 1 to 64 (negative sampling is the training objective)") }
        guard sample >= 0 else { throw ValidationError("--sample must be >= 0") }
        guard alpha > 0 && minAlpha >= 0 && minAlpha <= alpha else { throw ValidationError("--alpha must be > 0 and --min-alpha in [0, alpha]") }
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        try OutputDirectory.prepare(output, inputs: data)
        var corpus = LineSentences()
        for path in data {
            let bytes = try Input.bytes(path)
            do { try corpus.add([UInt8](bytes), name: path) } catch let error as Word2VecError { throw CommandError(error.description) }
        }
        var options = Word2VecOptions()
        options.skipGram = architecture == .skipGram
        (options.vectorSize, options.window, options.minCount, options.negative) = (vectorSize, window, minCount, negative)
        (options.sample, options.alpha, options.minAlpha, options.epochs, options.seed) = (sample, alpha, minAlpha, epochs, seed)
        options.threads = threads
        let vocabulary = Word2VecVocabulary(corpus, minCount: minCount)
        guard !vocabulary.words.isEmpty else {
            throw CommandError("no word occurs at least \(minCount) times (--min-count) in the \(corpus.wordCount.formatted()) words of \(data.joined(separator: ", "))")
        }
        printError("word2vec (\(options.skipGram ? "skip-gram" : "CBOW"), negative sampling): \(corpus.wordCount.formatted()) words, " +
                   "\(corpus.words.count.formatted()) distinct, \(vocabulary.words.count.formatted()) seen at least \(minCount) times; " +
                   "\(vectorSize) dimensions, \(epochs) epochs, \(threads ?? Threads.count) threads, \(Word2VecTrainer.kernelName) kernel")
        let bar = LockedProgressBar(ProgressBar(total: corpus.wordCount * epochs, label: "training"))
        let (model, summary): (Word2VecModel, Word2VecSummary)
        do {
            (model, summary) = try Word2VecTrainer.train(corpus, vocabulary: vocabulary, options: options) { done, _ in bar.update(done, "words") }
        } catch let error as Word2VecError { throw CommandError(error.description) }
        let vectors = model.vectors
        let text = (output as NSString).appendingPathComponent("vectors.txt"), binary = (output as NSString).appendingPathComponent("vectors.bin")
        try Word2VecFormat.write(vectors, to: text, layout: .text)
        try Word2VecFormat.write(vectors, to: binary, layout: .binary)
        let rate = Double(summary.rawWords) / summary.seconds
        printError(String(format: "trained in %.1f s: %.0f words/s (%@ effective words after subsampling); wrote %@ and %@",
                          summary.seconds, rate, summary.effectiveWords.formatted(), text, binary))
        if json {
            print(try jsonLine(["architecture": options.skipGram ? "skip-gram" : "cbow", "vocabulary": vectors.words.count,
                                "dimensions": vectorSize, "raw_words": summary.rawWords, "effective_words": summary.effectiveWords,
                                "seconds": summary.seconds, "words_per_second": rate, "threads": threads ?? Threads.count,
                                "kernel": summary.kernel, "vectors": text, "binary": binary]))
        }
    }
}

/// A progress bar the training threads update one at a time.
final class LockedProgressBar: @unchecked Sendable {
    private var bar: ProgressBar
    private let lock = NSLock()
    init(_ bar: ProgressBar) { self.bar = bar }
    func update(_ done: Int, _ status: String) {
        lock.lock(); defer { lock.unlock() }
        bar.update(done, status)
    }
}

/// Reads a vectors file with one clear error line.
func loadWordVectors(_ path: String) throws -> WordVectors {
    _ = try Input.bytes(path) // "no such file" / a directory: the same words as every command
    do { return try Word2VecFormat.read(path) } catch let error as Word2VecError { throw CommandError(error.description) }
}

func wordIndex(_ word: String, in vectors: WordVectors, file: String) throws -> Int {
    guard let i = vectors.index(of: word) else {
        throw CommandError("\"\(word)\" is not in the vocabulary of \(file) (\(vectors.words.count.formatted()) words)")
    }
    return i
}

struct Word2VecSimilar: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "similar", abstract: "The nearest words by cosine similarity.")
    @Option(help: "A vectors file (word2vec text or binary format).") var vectors: String
    @Option(help: "Neighbours per word.") var top = 10
    @Argument(help: "Words.") var words: [String]

    func run() throws {
        let v = try loadWordVectors(vectors)
        let ids = try words.map { try wordIndex($0, in: v, file: vectors) }
        for (word, id) in zip(words, ids) {
            print(word)
            for (w, s) in v.mostSimilar(positive: [id], count: top) { print(String(format: "  %.4f  %@", s, w)) }
        }
    }
}

struct Word2VecAnalogy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analogy", abstract: "A is to B as C is to ?: the words nearest to B − A + C.",
        discussion: "Example: llm word2vec analogy --vectors vectors.txt man king woman")
    @Option(help: "A vectors file (word2vec text or binary format).") var vectors: String
    @Option(help: "Answers to show.") var top = 10
    @Argument(help: "A B C.") var words: [String]

    func validate() throws { guard words.count == 3 else { throw ValidationError("give three words: A B C (A is to B as C is to ?)") } }

    func run() throws {
        let v = try loadWordVectors(vectors)
        let ids = try words.map { try wordIndex($0, in: v, file: vectors) }
        for (w, s) in v.analogy(ids[0], ids[1], ids[2], count: top) { print(String(format: "%.4f  %@", s, w)) }
    }
}

struct Word2VecEvaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate", abstract: "Analogy accuracy and word-pair correlation, counted as gensim counts them.",
        discussion: """
            --analogies takes questions-words.txt's format (": section" lines, then "a b c d"); --pairs a tab-separated \
            "word word score" file such as WordSim-353. Words compare case-insensitively over the --restrict most frequent.
            """)
    @Option(help: "A vectors file (word2vec text or binary format).") var vectors: String
    @Option(help: "Analogy questions.") var analogies: String?
    @Option(help: "Word pairs with human similarity scores.") var pairs: String?
    @Option(help: "Only the first (most frequent) N words take part (gensim's restrict_vocab).") var restrict = 300_000
    @Flag(help: "Print the results as one JSON object.") var json = false

    func validate() throws {
        guard analogies != nil || pairs != nil else { throw ValidationError("give --analogies FILE, --pairs FILE or both") }
        guard restrict >= 1 else { throw ValidationError("--restrict must be at least 1") }
    }

    func run() throws {
        let v = try loadWordVectors(vectors)
        var result: [String: Any] = [:]
        do {
            if let path = analogies {
                let r = try v.evaluateAnalogies(try Input.text(path), name: path, restrictTo: restrict)
                if !json {
                    for s in r.sections + [r.total] {
                        print(String(format: "%-28@ %6.2f %%  (%d of %d)", s.name, 100 * s.accuracy, s.correct, s.correct + s.incorrect))
                    }
                    print(String(format: "questions with unknown words: %d of %d (%.1f %%)", r.outOfVocabulary, r.questions,
                                 100 * Double(r.outOfVocabulary) / Double(max(r.questions, 1))))
                }
                result["analogies"] = ["sections": (r.sections + [r.total]).map { ["section": $0.name, "correct": $0.correct, "incorrect": $0.incorrect, "accuracy": $0.accuracy] },
                                       "accuracy": r.total.accuracy, "out_of_vocabulary": r.outOfVocabulary, "questions": r.questions]
            }
            if let path = pairs {
                let r = try v.evaluateWordPairs(try Input.text(path), name: path, restrictTo: restrict)
                if !json {
                    print(String(format: "word pairs: Spearman's rho %.4f, Pearson's r %.4f over %d pairs (%d with unknown words)",
                                 r.spearman, r.pearson, r.pairs, r.outOfVocabulary))
                }
                result["pairs"] = ["spearman": r.spearman, "pearson": r.pearson, "pairs": r.pairs, "out_of_vocabulary": r.outOfVocabulary]
            }
        } catch let error as Word2VecError { throw CommandError(error.description) }
        if json { print(try jsonLine(result)) }
    }
}

struct Word2VecPlot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot", abstract: "Draw words in two dimensions (PCA of their vectors) as an SVG.")
    @Option(help: "A vectors file (word2vec text or binary format).") var vectors: String
    @Option(parsing: .upToNextOption, help: "Words to place.") var words: [String]
    @Option(help: "SVG file to write.") var output = "word2vec.svg"

    func validate() throws { guard words.count >= 3 else { throw ValidationError("give at least 3 --words to plot") } }

    func run() throws {
        let v = try loadWordVectors(vectors)
        let rows = try words.map { v.vector(v.words[try wordIndex($0, in: v, file: vectors)])! }
        let points = PCA.project(rows, dimensions: v.dimension)
        for (w, p) in zip(words, points) { print(String(format: "%@\t%.4f\t%.4f", w, p.0, p.1)) }
        try requireWritableParent(of: output)
        try ScatterPlot(title: "word2vec (\(URL(fileURLWithPath: vectors).lastPathComponent)): first two principal components",
                        points: points, labels: words).svg().data(using: .utf8)!.write(to: URL(fileURLWithPath: output), options: .atomic)
        printError("wrote \(output)")
    }
}
