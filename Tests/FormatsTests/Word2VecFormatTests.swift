// word2vec's vector files: gensim's text and binary files read unchanged (and Google's binary layout with a
// newline after each vector), ours read back exactly, damaged files one clear error; the evaluations of
// gensim's vectors equal gensim's own.

import Foundation
import Formats
import Models
import Testing

@Suite("word2vec files")
struct Word2VecFormatTests {
    let directory = fixtureDirectory("word2vec")

    @Test("gensim's text and binary files hold the same vectors; ours round-trip bit for bit")
    func gensimFiles() throws {
        let text = try Word2VecFormat.read(directory + "/gensim-vectors.txt")
        let binary = try Word2VecFormat.read(directory + "/gensim-vectors.bin")
        #expect(text.words.count == 417 && text.dimension == 16)
        #expect(text.words == binary.words && text.values == binary.values, "gensim writes the shortest decimal that reads back the float")
        for layout in [Word2VecFormat.Layout.text, .binary] {
            let again = try Word2VecFormat.read(Word2VecFormat.encode(text, layout: layout), name: "ours")
            #expect(again.words == text.words && again.values == text.values, "\(layout)")
        }
        // gensim's binary layout leaves out the newline Google's tool writes after each vector: both read.
        let google = Word2VecFormat.encode(text, layout: .binary)
        #expect(google.count == (try Data(contentsOf: URL(fileURLWithPath: directory + "/gensim-vectors.bin"))).count + 417)
    }

    @Test("nearest neighbours, analogies and word pairs equal gensim's evaluation")
    func evaluationEqualsGensim() throws {
        struct Section: Decodable { let section: String; let correct: Int; let incorrect: Int }
        struct Evaluation: Decodable {
            let analogies: [Section]
            let accuracy: Double
            let spearman: Double?, pearson: Double?, pairs_oov_percent: Double?
            let similar_to_he: [[Similar]]?
            let restrict_vocab: Int?
        }
        enum Similar: Decodable {
            case word(String), score(Double)
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let s = try? c.decode(String.self) { self = .word(s) } else { self = .score(try c.decode(Double.self)) }
            }
        }
        func load(_ name: String) throws -> Evaluation {
            try JSONDecoder().decode(Evaluation.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
        }
        for (vectorsFile, questionsFile, goldenFile) in [("gensim-vectors.txt", "analogies.txt", "gensim-evaluation.json"),
                                                         ("synthetic.txt", "synthetic-analogies.txt", "synthetic-evaluation.json")] {
            let v = try Word2VecFormat.read(directory + "/" + vectorsFile)
            let golden = try load(goldenFile)
            let r = try v.evaluateAnalogies(try String(contentsOfFile: directory + "/" + questionsFile, encoding: .utf8),
                                            restrictTo: golden.restrict_vocab ?? 300_000)
            let ours = (r.sections + [r.total]).map { "\($0.name) \($0.correct) \($0.incorrect)" }
            #expect(ours == golden.analogies.map { "\($0.section) \($0.correct) \($0.incorrect)" }, "\(questionsFile)")
            #expect(abs(r.total.accuracy - golden.accuracy) < 1e-12)
            if let spearman = golden.spearman, let pearson = golden.pearson, let oov = golden.pairs_oov_percent {
                let p = try v.evaluateWordPairs(try String(contentsOfFile: directory + "/pairs.tsv", encoding: .utf8))
                // The ranks are identical; Pearson's r sees the float32 cosines themselves, which on this tiny
                // corpus all lie near 0.99, so the last bits of two summation orders move it by about 1e-5.
                #expect(abs(p.spearman - spearman) < 1e-12 && abs(p.pearson - pearson) < 1e-4, "\(p.spearman - spearman) \(p.pearson - pearson)")
                #expect(abs(100 * Double(p.outOfVocabulary) / Double(p.pairs + p.outOfVocabulary) - oov) < 1e-9)
            }
            if let similar = golden.similar_to_he {
                let ours = v.mostSimilar(positive: [v.index(of: "he")!], count: 5)
                for (pair, (word, score)) in zip(similar, ours) {
                    guard case .word(let w) = pair[0], case .score(let s) = pair[1] else { continue }
                    #expect(w == word && abs(Double(score) - s) < 1e-5)
                }
            }
        }
    }

    @Test("damaged files are one clear error", arguments: [
        ("3 2\na 1.5 2.5\nb 1\nc 1.5 2.5\n", "line 3 has 1 values; the header says 2"),
        ("3 2\na 1.5 2.5\nb 1.5 2.5\n", "the file ends after 2 of the 3 words its header announces"),
        ("1000000 100\na 1\n", "the header announces 1000000 words of 100 values, more than the file's 16 bytes can hold"),
        ("1 2\na 1 2\nb 1 2\n", "more rows follow the 1 words its header announces"),
        ("two 2\na 1 2\n", "the first line is not a word2vec header ('COUNT DIMENSION')"),
        ("1 2\na 1 x\n", "line 2: \"x\" is not a number"),
        ("", "no header line ('COUNT DIMENSION')"),
    ])
    func damaged(text: String, message: String) {
        do {
            _ = try Word2VecFormat.read(Array(text.utf8), name: "v.txt")
            Issue.record("\(text.debugDescription) was read")
        } catch {
            #expect("\(error)" == "v.txt: " + message)
        }
    }

    @Test("a binary file cut inside a vector, and a word that is not UTF-8")
    func damagedBinary() throws {
        let v = WordVectors(words: ["a", "b"], dimension: 2, values: [1, 2, 3, 4])
        let bytes = Word2VecFormat.encode(v, layout: .binary)
        #expect(throws: Word2VecError.self) { _ = try Word2VecFormat.read(Array(bytes.dropLast(3)), name: "cut.bin") }
        var bad = bytes
        bad[4] = 0xFF // the first byte of the first word
        do { _ = try Word2VecFormat.read(bad, name: "bad.bin"); Issue.record("read") } catch {
            #expect("\(error)" == "bad.bin: word 1 is not UTF-8 (is this really a word2vec file?)")
        }
    }
}
