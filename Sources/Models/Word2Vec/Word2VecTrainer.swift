// Training word2vec (skip-gram or CBOW, negative sampling) as gensim's `Word2Vec(...)` does, on all cores:
// the corpus is cut into jobs of at most 10,000 words; each job gets the learning rate of its place in the
// run (linear decay from alpha to minAlpha over every epoch's words, as gensim's `_get_next_alpha`) and a
// random state of its own; worker threads take jobs in turn and update the shared matrices without locks
// (CKernels/word2vec.c, whose readable twin is Word2VecUpdates.swift).

import CKernels
import Foundation
import Tensors

public struct Word2VecOptions: Sendable, Equatable {
    /// gensim's defaults (CBOW, 100 dimensions, window 5, ...).
    public var skipGram = false
    public var vectorSize = 100
    public var window = 5
    public var minCount = 5
    public var negative = 5
    public var sample = 1e-3
    public var alpha = 0.025
    public var minAlpha = 0.0001
    public var epochs = 5
    public var seed: UInt64 = 1
    public var shrinkWindows = true
    /// Worker threads (default: Threads.count).
    public var threads: Int? = nil
    public init() {}
}

/// A trained model: the vocabulary and its vectors (and the output vectors, for training further).
public struct Word2VecModel: Sendable {
    public let vocabulary: Word2VecVocabulary
    public var weights: Word2VecWeights
    public var vectors: WordVectors { WordVectors(words: vocabulary.words, dimension: weights.dimension, values: weights.input) }
}

/// What a run did, for the log and --json.
public struct Word2VecSummary: Sendable {
    public var rawWords = 0          // words read, every epoch, in-vocabulary or not
    public var effectiveWords = 0    // words trained on after subsampling
    public var seconds = 0.0
    public var kernel = ""
}

public enum Word2VecTrainer {
    /// A job: sentences [first, last) of the corpus.
    struct Job { let first: Int, last: Int, rawWords: Int }

    /// The initial weights: input vectors uniform in [−1/D, 1/D) (gensim's range), output vectors zero.
    public static func initialWeights(vocabulary: Int, dimension: Int, seed: UInt64) -> Word2VecWeights {
        var generator = SeededGenerator(seed: seed)
        let input = (0..<(vocabulary * dimension)).map { _ in (Float.random(in: 0..<1, using: &generator) * 2 - 1) / Float(dimension) }
        return Word2VecWeights(dimension: dimension, input: input, output: [Float](repeating: 0, count: vocabulary * dimension))
    }

    /// The random state of one job (gensim draws one per job too), the same whatever the thread count.
    public static func jobRandom(seed: UInt64, epoch: Int, job: Int) -> Word2VecRandom {
        var z = seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(job) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Word2VecRandom(state: z ^ (z >> 31))
    }

    /// gensim's learning rate at `progress` ∈ [0, 1] of the run.
    public static func alpha(_ options: Word2VecOptions, progress: Double) -> Float {
        Float(max(options.minAlpha, options.alpha - (options.alpha - options.minAlpha) * progress))
    }

    /// Trains on `corpus` (with its vocabulary for `options.minCount`, when the caller has already built it);
    /// `progress(wordsDone, wordsTotal)` is called after each job (from a worker thread, one call at a time).
    public static func train(_ corpus: LineSentences, vocabulary: Word2VecVocabulary? = nil, options: Word2VecOptions,
                             progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) throws -> (Word2VecModel, Word2VecSummary) {
        let start = Date()
        let vocabulary = vocabulary ?? Word2VecVocabulary(corpus, minCount: options.minCount)
        guard !vocabulary.words.isEmpty else {
            throw Word2VecError("no word occurs at least \(options.minCount) times (--min-count) in \(corpus.wordCount) words")
        }
        guard options.window >= 1, options.negative >= 1, options.vectorSize >= 1, options.epochs >= 1 else {
            throw Word2VecError("window, negative, vector size and epochs must be at least 1")
        }
        guard options.negative <= Int(LLM_W2V_MAX_NEGATIVE) else { throw Word2VecError("negative must be at most \(LLM_W2V_MAX_NEGATIVE)") }
        // The corpus as vocabulary indices, words outside the vocabulary left out (which widens the window
        // over them, as in gensim), and the jobs: consecutive sentences of at most 10,000 raw words.
        let position = Dictionary(uniqueKeysWithValues: vocabulary.words.enumerated().map { ($1, Int32($0)) })
        let index = corpus.words.map { position[$0] ?? -1 }
        var words: [Int32] = [], ends: [Int] = [], jobs: [Job] = []
        words.reserveCapacity(vocabulary.retainedWords)
        var begin = 0, jobFirst = 0, jobWords = 0
        for (s, end) in corpus.ends.enumerated() {
            let length = end - begin
            if jobWords + length > LineSentences.maxSentenceLength && s > jobFirst {
                jobs.append(Job(first: jobFirst, last: s, rawWords: jobWords))
                (jobFirst, jobWords) = (s, 0)
            }
            for id in corpus.ids[begin..<end] where index[Int(id)] >= 0 { words.append(index[Int(id)]) }
            ends.append(words.count)
            jobWords += length
            begin = end
        }
        if corpus.ends.count > jobFirst { jobs.append(Job(first: jobFirst, last: corpus.ends.count, rawWords: jobWords)) }

        // Each job's learning rate, from the raw words of the jobs before it (gensim's schedule).
        let total = corpus.wordCount * options.epochs
        var schedule: [(job: Job, epoch: Int, number: Int, alpha: Float)] = [], done = 0
        for epoch in 0..<options.epochs {
            for (number, job) in jobs.enumerated() {
                schedule.append((job, epoch, number, alpha(options, progress: Double(done) / Double(max(total, 1)))))
                done += job.rawWords
            }
        }
        let weights = initialWeights(vocabulary: vocabulary.words.count, dimension: options.vectorSize, seed: options.seed)
        let state = SharedState(weights: weights, noise: vocabulary.noiseTable(),
                                keep: options.sample > 0 ? vocabulary.keepThresholds(sample: options.sample) : nil,
                                words: words, ends: ends, options: options)
        let threads = max(1, min(options.threads ?? Threads.count, schedule.count))
        let jobsInOrder = schedule
        let worker: @Sendable () -> Void = {
            var scratch = JobScratch(dimension: options.vectorSize)
            while let n = state.take(jobsInOrder.count) {
                let item = jobsInOrder[n]
                var random = jobRandom(seed: options.seed, epoch: item.epoch, job: item.number)
                let kept = state.run(sentences: item.job.first..<item.job.last, alpha: item.alpha, random: &random, scratch: &scratch)
                state.finished(rawWords: item.job.rawWords, kept: kept, total: total, progress: progress)
            }
        }
        // Threads of our own, one per worker: Dispatch's concurrentPerform does not promise to run its iterations
        // at the same time.
        let finished = DispatchSemaphore(value: 0)
        for _ in 1..<threads {
            let thread = Thread { worker(); finished.signal() }
            thread.stackSize = 1 << 20
            thread.start()
        }
        worker()
        for _ in 1..<threads { finished.wait() }
        let summary = Word2VecSummary(rawWords: total, effectiveWords: state.effectiveWords, seconds: Date().timeIntervalSince(start),
                                      kernel: Word2VecTrainer.kernelName)
        return (Word2VecModel(vocabulary: vocabulary, weights: state.weights()), summary)
    }

    /// The instruction set the training loop runs with ("avx512", "avx2", "portable").
    public static var kernelName: String { "\(GEMMInstructionSet.current)" }

    /// Runs one job with the fast loop on `weights` (single-threaded): what the tests compare with the twin.
    public static func trainJob(words: [Int32], ends: [Int], weights: inout Word2VecWeights, tables: Word2VecTables, alpha: Float,
                                random: inout Word2VecRandom) -> Int {
        var options = Word2VecOptions()
        (options.vectorSize, options.window, options.negative) = (weights.dimension, tables.window, tables.negative)
        (options.skipGram, options.shrinkWindows) = (!tables.cbow, tables.shrinkWindows)
        let state = SharedState(weights: weights, noise: tables.noise, keep: tables.keep, words: words, ends: ends, options: options)
        var scratch = JobScratch(dimension: weights.dimension)
        let kept = state.run(sentences: 0..<ends.count, alpha: alpha, random: &random, scratch: &scratch)
        weights = state.weights()
        return kept
    }
}

/// One worker's buffers for llm_word2vec_train.
struct JobScratch {
    var kept = [Int32](repeating: 0, count: LineSentences.maxSentenceLength)
    var keptEnds = [Int](repeating: 0, count: LineSentences.maxSentenceLength)
    var reduced = [Int32](repeating: 0, count: LineSentences.maxSentenceLength)
    var floats: [Float]
    init(dimension: Int) { floats = [Float](repeating: 0, count: 2 * dimension) }
}

/// The matrices and tables every worker reads and writes, and the job counter. The matrices are updated
/// by several threads at once without locks (Hogwild, as word2vec has always been trained); the counter
/// and the totals are under a lock.
final class SharedState: @unchecked Sendable {
    let dimension: Int, vocabularySize: Int
    let input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>
    let noise: UnsafeMutablePointer<UInt32>, keep: UnsafeMutablePointer<UInt32>?
    let noiseBuckets: UnsafeMutablePointer<Int32>
    let words: UnsafeMutablePointer<Int32>, ends: UnsafeMutablePointer<Int>
    let model: llm_word2vec_model
    private let lock = NSLock()
    private var next = 0, rawDone = 0
    private(set) var effectiveWords = 0

    init(weights: Word2VecWeights, noise: [UInt32], keep: [UInt32]?, words: [Int32], ends: [Int], options: Word2VecOptions) {
        func copy<T>(_ a: [T]) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(a.count, 1))
            p.initialize(from: a, count: a.count)
            return p
        }
        dimension = weights.dimension
        vocabularySize = noise.count
        input = copy(weights.input)
        output = copy(weights.output)
        self.noise = copy(noise)
        noiseBuckets = .allocate(capacity: Int(LLM_W2V_BUCKETS) + 1)
        llm_word2vec_noise_buckets(self.noise, noise.count, noiseBuckets)
        self.keep = keep.map(copy)
        self.words = copy(words)
        self.ends = copy(ends)
        model = llm_word2vec_model(input: input, output: output, dim: weights.dimension, cum_table: self.noise, noise_buckets: noiseBuckets, vocab: noise.count,
                                   keep: self.keep, window: Int32(options.window), negative: Int32(options.negative),
                                   cbow: options.skipGram ? 0 : 1, shrink_windows: options.shrinkWindows ? 1 : 0)
    }

    deinit {
        input.deallocate(); output.deallocate(); noise.deallocate(); noiseBuckets.deallocate(); keep?.deallocate(); words.deallocate(); ends.deallocate()
    }

    /// The next job number, or nil when all `count` are taken.
    func take(_ count: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < count else { return nil }
        next += 1
        return next - 1
    }

    func finished(rawWords: Int, kept: Int, total: Int, progress: (Int, Int) -> Void) {
        lock.lock(); defer { lock.unlock() }
        rawDone += rawWords
        effectiveWords += kept
        progress(rawDone, total)
    }

    /// Trains sentences `sentences` of the corpus from the random state `random`, which it advances; returns the
    /// words kept.
    func run(sentences: Range<Int>, alpha: Float, random: inout Word2VecRandom, scratch: inout JobScratch) -> Int {
        guard !sentences.isEmpty else { return 0 }
        let first = sentences.lowerBound == 0 ? 0 : ends[sentences.lowerBound - 1]
        // Sentence ends relative to the job's first word.
        var localEnds = sentences.map { ends[$0] - first }
        var state = random.state
        var model = self.model
        let kept = scratch.kept.withUnsafeMutableBufferPointer { kept in
            scratch.keptEnds.withUnsafeMutableBufferPointer { keptEnds in
                scratch.reduced.withUnsafeMutableBufferPointer { reduced in
                    scratch.floats.withUnsafeMutableBufferPointer { floats in
                        localEnds.withUnsafeMutableBufferPointer { localEnds in
                            llm_word2vec_train(&model, words + first, localEnds.baseAddress, localEnds.count, alpha, &state,
                                               kept.baseAddress, keptEnds.baseAddress, reduced.baseAddress, floats.baseAddress)
                        }
                    }
                }
            }
        }
        random = Word2VecRandom(state: state)
        return kept
    }

    /// A copy of the matrices as they are now.
    func weights() -> Word2VecWeights {
        let n = vocabularySize * dimension
        return Word2VecWeights(dimension: dimension, input: Array(UnsafeBufferPointer(start: input, count: n)),
                               output: Array(UnsafeBufferPointer(start: output, count: n)))
    }
}
