// word2vec: the fast loop equals its readable twin, the negative-sampling update is the gradient of its
// loss, the vocabulary and tables are gensim's, training puts words of one context together, and the
// evaluations count as gensim counts.

import Foundation
import Models
import Tensors
import Testing

@Suite("word2vec")
struct Word2VecTests {
    /// A corpus of `sentences` random sentences over `vocabulary` words with Zipf-like frequencies.
    static func corpus(sentences: Int, vocabulary: Int, seed: UInt64) -> LineSentences {
        var generator = Word2VecRandom(state: seed)
        var text = ""
        for _ in 0..<sentences {
            let length = 1 + Int(generator.next32() % 25)
            let words = (0..<length).map { _ -> String in
                let u = Double(generator.next32()) / 4_294_967_296
                return "w\(Int(pow(Double(vocabulary), u)) - 1)"
            }
            text += words.joined(separator: " ") + "\n"
        }
        var c = LineSentences()
        try! c.add(Array(text.utf8), name: "corpus")
        return c
    }

    /// The corpus as vocabulary indices (out-of-vocabulary words dropped) and sentence ends.
    static func indices(_ corpus: LineSentences, _ vocabulary: Word2VecVocabulary) -> ([Int32], [Int]) {
        let position = Dictionary(uniqueKeysWithValues: vocabulary.words.enumerated().map { ($1, Int32($0)) })
        var words: [Int32] = [], ends: [Int] = [], begin = 0
        for end in corpus.ends {
            for id in corpus.ids[begin..<end] { if let p = position[corpus.words[Int(id)]] { words.append(p) } }
            ends.append(words.count)
            begin = end
        }
        return (words, ends)
    }

    @Test("the fast loop (C, every ISA) equals the readable updates, skip-gram and CBOW", arguments: [false, true])
    func fastEqualsReadable(cbow: Bool) throws {
        let corpus = Self.corpus(sentences: 300, vocabulary: 60, seed: 11)
        let vocabulary = Word2VecVocabulary(corpus, minCount: 2)
        let (words, ends) = Self.indices(corpus, vocabulary)
        let tables = Word2VecTables(noise: vocabulary.noiseTable(), keep: vocabulary.keepThresholds(sample: 0.01), window: 4,
                                    negative: 5, cbow: cbow)
        let start = Word2VecTrainer.initialWeights(vocabulary: vocabulary.words.count, dimension: 24, seed: 3)
        var readable = start, readableRandom = Word2VecRandom(state: 12345)
        let keptReadable = Word2VecUpdates.train(words: words, ends: ends, weights: &readable, tables: tables, alpha: 0.05,
                                                 random: &readableRandom)
        #expect(keptReadable > words.count / 2 && keptReadable < words.count, "subsampling drops some words")
        let saved = GEMMInstructionSet.current
        defer { GEMMInstructionSet.current = saved }
        for isa in GEMMInstructionSet.allCases where isa.rawValue <= GEMMInstructionSet.best.rawValue {
            GEMMInstructionSet.current = isa
            do {
                var fast = start, fastRandom = Word2VecRandom(state: 12345)
                let kept = Word2VecTrainer.trainJob(words: words, ends: ends, weights: &fast, tables: tables, alpha: 0.05, random: &fastRandom)
                #expect(kept == keptReadable, "\(isa)")
                #expect(fastRandom.state == readableRandom.state, "\(isa): the same random draws in the same order")
                let difference = zip(fast.input + fast.output, readable.input + readable.output).map { abs($0 - $1) }.max()!
                #expect(difference < 2e-5, "\(isa): largest difference \(difference)")
                #expect(fast.input != start.input && fast.output != start.output)
            }
        }
    }

    @Test("the negative-sampling update is −α times the loss gradient (finite differences)")
    func updateIsTheGradient() {
        let v = 12, d = 8
        var generator = Word2VecRandom(state: 99)
        func uniform() -> Float { (Float(generator.next32()) / 4_294_967_296 - 0.5) * 0.6 }
        let h = (0..<d).map { _ in uniform() }, output = (0..<(v * d)).map { _ in uniform() }
        let counts = (0..<v).map { 20 - $0 }
        let vocabulary = Word2VecVocabulary(words: (0..<v).map { "w\($0)" }, counts: counts)
        let tables = Word2VecTables(noise: vocabulary.noiseTable(), keep: nil, window: 2, negative: 4, cbow: false)
        let target = 3
        // The noise words this random state draws (a draw of the target itself is skipped).
        var replay = Word2VecRandom(state: 777)
        let noise = (0..<tables.negative).map { _ in Word2VecUpdates.drawNoise(tables, random: &replay) }.filter { $0 != target }
        #expect(Set(noise).count == noise.count, "distinct noise words, so one step is exactly one gradient")
        let alpha: Float = 1e-3
        var weights = Word2VecWeights(dimension: d, input: [], output: output)
        var random = Word2VecRandom(state: 777), hError = [Float](repeating: 0, count: d)
        Word2VecUpdates.negativeSampling(h, target: target, weights: &weights, tables: tables, alpha: alpha, random: &random, hError: &hError)
        let epsilon: Float = 1e-3
        for k in 0..<d {
            var plus = h, minus = h
            plus[k] += epsilon; minus[k] -= epsilon
            let numeric = (Word2VecUpdates.loss(h: plus, output: output, dimension: d, target: target, noise: noise)
                - Word2VecUpdates.loss(h: minus, output: output, dimension: d, target: target, noise: noise)) / Double(2 * epsilon)
            #expect(abs(Double(-hError[k] / alpha) - numeric) < 1e-3, "∂L/∂h[\(k)]")
        }
        for w in [target] + noise {
            for k in 0..<d {
                var plus = output, minus = output
                plus[w * d + k] += epsilon; minus[w * d + k] -= epsilon
                let numeric = (Word2VecUpdates.loss(h: h, output: plus, dimension: d, target: target, noise: noise)
                    - Word2VecUpdates.loss(h: h, output: minus, dimension: d, target: target, noise: noise)) / Double(2 * epsilon)
                let update = Double((weights.output[w * d + k] - output[w * d + k]) / -alpha)
                #expect(abs(update - numeric) < 1e-3, "∂L/∂v'[\(w)][\(k)]")
            }
        }
    }

    @Test("vocabulary, subsampling and noise tables as gensim makes them")
    func vocabularyAndTables() throws {
        var corpus = LineSentences()
        // b and c both occur 3 times: the one that first appeared later comes first (gensim's lexsort).
        try corpus.add(Array("a b c a\u{3000}c\n\nb a\u{A0}c d\na b\n".utf8), name: "t")
        #expect(corpus.ends.count == 3 && corpus.wordCount == 11)
        let vocabulary = Word2VecVocabulary(corpus, minCount: 2)
        #expect(vocabulary.words == ["a", "c", "b"] && vocabulary.counts == [4, 3, 3])
        // threshold t = 0.1 × 10 = 1: keep (√(v) + 1) / v of a word seen v times.
        let keep = vocabulary.keepThresholds(sample: 0.1)
        #expect(keep == [UInt32((2.0 + 1) / 4 * 4_294_967_295), UInt32((3.0.squareRoot() + 1) / 3 * 4_294_967_295),
                         UInt32((3.0.squareRoot() + 1) / 3 * 4_294_967_295)])
        let noise = vocabulary.noiseTable()
        let p = [4.0, 3, 3].map { pow($0, 0.75) }, total = p.reduce(0, +)
        #expect(noise == [UInt32((p[0] / total * 2_147_483_647).rounded()), UInt32(((p[0] + p[1]) / total * 2_147_483_647).rounded()), 2_147_483_647])
    }

    @Test("a long line is cut into sentences of 10,000 words; non-UTF-8 text is one clear error")
    func lineSentences() throws {
        var corpus = LineSentences()
        try corpus.add(Array((Array(repeating: "x", count: 25_000).joined(separator: " ") + "\ny z").utf8), name: "long")
        #expect(corpus.ends == [10_000, 20_000, 25_000, 25_002])
        var bad = LineSentences()
        #expect(throws: Word2VecError.self) { try bad.add([0x61, 0x0A, 0x62, 0xFF, 0x0A], name: "bad.txt") }
        do { try bad.add([0x61, 0x0A, 0x62, 0xFF, 0x0A], name: "bad.txt") } catch { #expect("\(error)" == "bad.txt:2: the text is not UTF-8") }
    }

    @Test("training puts words that share contexts together", arguments: [false, true])
    func learnsContexts(skipGram: Bool) throws {
        // Two topics: sentences draw from one group of ten words; the nearest words of a word are its group's.
        var generator = Word2VecRandom(state: 5)
        var text = ""
        for s in 0..<4000 {
            let group = s % 2 == 0 ? "a" : "b"
            text += (0..<8).map { _ in "\(group)\(generator.next32() % 10)" }.joined(separator: " ") + "\n"
        }
        var corpus = LineSentences()
        try corpus.add(Array(text.utf8), name: "topics")
        var options = Word2VecOptions()
        (options.skipGram, options.vectorSize, options.epochs, options.threads) = (skipGram, 20, 3, 2)
        let (model, summary) = try Word2VecTrainer.train(corpus, options: options)
        #expect(summary.rawWords == 3 * 32_000 && model.vocabulary.words.count == 20)
        let vectors = model.vectors
        for word in ["a3", "b7"] {
            let neighbours = vectors.mostSimilar(positive: [vectors.index(of: word)!], count: 9).map(\.word)
            #expect(neighbours.allSatisfy { $0.first == word.first }, "\(word): \(neighbours)")
        }
    }

    @Test("no word reaching min_count is one clear error")
    func emptyVocabulary() throws {
        var corpus = LineSentences()
        try corpus.add(Array("a b c\n".utf8), name: "t")
        var options = Word2VecOptions()
        options.minCount = 5
        #expect(throws: Word2VecError.self) { _ = try Word2VecTrainer.train(corpus, options: options) }
    }

    @Test("analogies and word pairs count as gensim counts them")
    func evaluation() throws {
        // king − man + woman = queen exactly; "Paris" is outside a restrict of 6.
        let rows: [(String, [Float])] = [("man", [1, 0, 0]), ("woman", [1, 1, 0]), ("king", [1, 0, 1]), ("queen", [1, 1, 1]),
                                         ("apple", [-1, 0.2, 0]), ("pear", [-1, 0.3, 0.1]), ("Paris", [0, 0, -1])]
        let v = WordVectors(words: rows.map(\.0), dimension: 3, values: rows.flatMap(\.1))
        let questions = ": family\nman king woman queen\nMAN WOMAN KING QUEEN\nman king woman pear\n: capitals\nman king woman paris\n"
        let r = try v.evaluateAnalogies(questions, restrictTo: 6)
        #expect(r.sections.map(\.name) == ["family", "capitals"])
        #expect(r.sections[0].correct == 2 && r.sections[0].incorrect == 1 && r.sections[1].correct + r.sections[1].incorrect == 0)
        #expect(r.outOfVocabulary == 1 && r.questions == 4 && r.total.correct == 2)
        let pairs = "# a comment\nman\twoman\t8\nking\tqueen\t8\napple\tpear\t9\nman\tapple\t1\nman\tunknown\t5\n"
        let p = try v.evaluateWordPairs(pairs)
        #expect(p.pairs == 4 && p.outOfVocabulary == 1)
        let model = [v.similarity(0, 1), v.similarity(2, 3), v.similarity(4, 5), v.similarity(0, 4)].map(Double.init)
        #expect(abs(p.spearman - Statistics.pearson(Statistics.ranks([8, 8, 9, 1]), Statistics.ranks(model))) < 1e-12)
        #expect(Statistics.ranks([8, 8, 9, 1]) == [2.5, 2.5, 4, 1])
        // scipy.stats.spearmanr([1, 2, 2, 3, 5], [2, 1, 4, 3, 5]).statistic
        #expect(abs(Statistics.spearman([1, 2, 2, 3, 5], [2, 1, 4, 3, 5]) - 0.6668859288553503) < 1e-12)
    }
}

@Suite("word2vec against gensim")
struct Word2VecGensimTests {
    struct Vocabulary: Decodable {
        let words: [String]
        let counts: [Int]
        let sample_int: [UInt32]
        let cum_table: [UInt32]
    }

    @Test("LineSentences and the vocabulary, subsampling and noise tables equal gensim's on The Verdict")
    func vocabularyEqualsGensim() throws {
        let directory = fixtureDirectory("word2vec")
        var corpus = LineSentences()
        try corpus.add(contentsOf: directory + "/corpus.txt")
        let golden = try JSONDecoder().decode(Vocabulary.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/gensim-vocab.json")))
        let vocabulary = Word2VecVocabulary(corpus, minCount: 2)
        #expect(vocabulary.words == golden.words)
        #expect(vocabulary.counts == golden.counts)
        #expect(vocabulary.keepThresholds(sample: 1e-3) == golden.sample_int)
        #expect(vocabulary.noiseTable() == golden.cum_table)
    }
}
