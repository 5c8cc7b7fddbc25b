// The encoder-decoders: the RNN with and without Bahdanau attention (gradients against finite differences,
// alignments that are distributions over the source's tokens, none on padding), the Transformer against
// torch.nn.Transformer (scripts/make_transformer_goldens.py: logits, loss and every gradient), beam search, and all
// three learning a small transduction.

import Foundation
import Formats
import Models
import NN
import Tensors
import Testing

@Suite("RNN encoder-decoder")
struct Seq2SeqTests {
    static func tiny(attention: Bool) -> RNNEncoderDecoder {
        RNNEncoderDecoder(.init(sourceVocabulary: 7, targetVocabulary: 6, embeddingSize: 4, hiddenSize: 5, layers: 2, attention: attention), seed: 2)
    }
    // Two source rows (lengths 4 and 2) and their target inputs and outputs (3 steps; -100: padding).
    static let source = [1, 2, 3, 4, 5, 6, 0, 0], lengths = [4, 2]
    static let targetInputs = [1, 2, 3, 1, 4, 0], targets = [2, 3, 5, 4, 5, -100]

    @Test("the teacher-forced loss has the gradients of finite differences", arguments: [false, true])
    func finiteDifferences(_ attention: Bool) throws {
        let model = Self.tiny(attention: attention)
        func loss() -> Tensor {
            model(source: Self.source, sourceLengths: Self.lengths, targetInputs: Self.targetInputs).logits.crossEntropy(targets: Self.targets)
        }
        loss().backward()
        for (name, p) in model.namedParameters {
            let analytic = p.grad!.scalars
            for i in stride(from: 0, to: p.count, by: max(1, p.count / 3)) {
                let original = p.scalars[i], eps: Float = 1e-2
                func at(_ v: Float) -> Double {
                    p.withUnsafeMutableBufferPointer { $0[i] = v }
                    return Double(Autograd.withNoGrad { loss() }.item())
                }
                let numeric = (at(original + eps) - at(original - eps)) / Double(2 * eps)
                p.withUnsafeMutableBufferPointer { $0[i] = original }
                #expect(abs(numeric - Double(analytic[i])) < 1e-3 + 1e-2 * abs(numeric), "∂\(name)[\(i)]: \(analytic[i]) vs \(numeric)")
            }
        }
    }

    @Test("each output step's alignment is a distribution over the source's tokens, with no weight on padding")
    func alignments() throws {
        let model = Self.tiny(attention: true)
        let (logits, alignments) = Autograd.withNoGrad { model(source: Self.source, sourceLengths: Self.lengths, targetInputs: Self.targetInputs) }
        #expect(logits.shape == [2, 3, 6] && alignments!.shape == [2, 3, 4])
        let a = alignments!.scalars
        for row in 0..<6 { #expect(abs(a[(row * 4)..<(row * 4 + 4)].reduce(0, +) - 1) < 1e-5) }
        #expect(a[12..<24].enumerated().allSatisfy { $0.offset % 4 < 2 || $0.element < 1e-30 }, "the short row's padding gets nothing: \(a[12..<24])")
        #expect(model.translate([1, 2, 3], begin: 1, end: 0, maxLength: 4, beam: 1).ids.count <= 4)
    }

    @Test("all three learn to reverse short sequences; translation stops at the end token, greedy or by beam")
    func learnsToReverse() throws {
        // Tokens 0 padding / end, 1 begin, 2...9 symbols; the target is the source reversed.
        var g = SeededGenerator(seed: 5)
        func example() -> [Int] { (0..<(2 + Int(g.next() % 3))).map { _ in 2 + Int(g.next() % 8) } }
        let models: [(String, any EncoderDecoder, Int)] = [
            ("without attention", RNNEncoderDecoder(.init(sourceVocabulary: 10, targetVocabulary: 10, embeddingSize: 16, hiddenSize: 32, attention: false), seed: 1), 30),
            ("with attention", RNNEncoderDecoder(.init(sourceVocabulary: 10, targetVocabulary: 10, embeddingSize: 16, hiddenSize: 32, attention: true), seed: 1), 45),
            ("transformer", TransformerEncoderDecoder(.init(sourceVocabulary: 10, targetVocabulary: 10, modelSize: 32, heads: 2, encoderLayers: 1,
                                                             decoderLayers: 1, feedForwardSize: 64), seed: 1), 45),
        ]
        for (name, model, least) in models {
            let optimizer = AdamW(parameters: model.parameters, learningRate: name == "transformer" ? 3e-3 : 1e-2, weightDecay: 0)
            for _ in 0..<400 {
                let batch = (0..<16).map { _ in example() }
                let s = batch.map(\.count).max()!, t = s + 1
                let source = batch.flatMap { $0 + [Int](repeating: 0, count: s - $0.count) }
                let inputs = batch.flatMap { [1] + $0.reversed() + [Int](repeating: 0, count: t - 1 - $0.count) }
                let targets = batch.flatMap { $0.reversed() + [0] + [Int](repeating: -100, count: t - 1 - $0.count) }
                let loss = model.logits(source: source, sourceLengths: batch.map(\.count), targetInputs: inputs).crossEntropy(targets: targets)
                optimizer.zeroGrad()
                loss.backward()
                optimizer.update()
            }
            let tests = (0..<50).map { _ in example() }
            let greedy = tests.map { model.translate($0, begin: 1, end: 0, maxLength: 8, beam: 1) }
            let right = zip(tests, greedy).filter { $0.1.ids == $0.0.reversed() }.count
            let beam = tests.filter { model.translate($0, begin: 1, end: 0, maxLength: 8, beam: 4).ids == $0.reversed() }.count
            // Seen here, greedy (beam of 4): 38 (39) of 50 without attention, 50 (50) with it (the decoder can look back
            // at each source token), 49 (49) for the Transformer.
            #expect(right >= least, "\(name): \(right) of 50 reversed exactly")
            #expect(beam >= right - 2, "\(name): a beam of 4 reversed \(beam) of 50, greedy \(right)")
            if model.alignmentName != nil {
                for (source, out) in zip(tests, greedy) {
                    #expect(out.alignments.count == out.ids.count && out.alignments.allSatisfy { $0.count == source.count })
                }
            }
        }
    }
}

@Suite("Beam search")
struct BeamSearchTests {
    // A two-step language where greedy decoding goes wrong: after the start, token 3 is likelier (0.6) than token 4
    // (0.4), but after 3 the next token is uncertain (best 0.4 for the end, 2), while after 4 the end is sure (1.0).
    // Greedy: 3 then end, probability 0.6 · 0.4 = 0.24; the beam finds 4 then end, 0.4 · 1.0 = 0.4.
    static func step(_ live: [BeamSearch.Hypothesis<Void>]) -> [(logProbabilities: [Float], state: Void)] {
        live.map { h in
            var p = [Float](repeating: 1e-6, count: 5)
            switch h.tokens {
            case []: (p[3], p[4]) = (0.6, 0.4)
            case [3]: (p[2], p[3], p[4]) = (0.4, 0.3, 0.3)
            default: p[2] = 1
            }
            return (p.map { Foundation.log($0) }, ())
        }
    }

    @Test("width 1 is greedy; a wider beam finds the likelier sentence greedy misses")
    func findsWhatGreedyMisses() {
        #expect(BeamSearch.decode(start: (), end: 2, width: 1, maxLength: 5, step: Self.step).tokens == [3])
        let best = BeamSearch.decode(start: (), end: 2, width: 2, maxLength: 5, step: Self.step)
        #expect(best.tokens == [4])
        #expect(abs(best.logProbability - Foundation.log(0.4)) < 1e-4)
    }

    @Test("a hypothesis that never ends stops at the length limit")
    func stopsAtTheLimit() {
        let best = BeamSearch.decode(start: (), end: 2, width: 3, maxLength: 4) { live in live.map { _ in ([0, 0, -10, 0, -1].map { Float($0) }, ()) } }
        #expect(best.tokens.count == 4 && !best.tokens.contains(2))
        #expect(BeamSearch.logSoftmax([1, 2, 3]).map { expf($0) }.reduce(0, +) - 1 < 1e-6)
    }
}

@Suite("Transformer encoder-decoder")
struct TransformerEncoderDecoderTests {
    struct Reference: Decodable {
        let source: [Int], lengths: [Int], target_inputs: [Int], targets: [Int]
        let logits: [Double], loss: Double
        let grads: [String: [Double]]
    }

    @Test("logits, loss and every gradient equal torch.nn.Transformer's; the directory loads")
    func equalsPyTorch() throws {
        let directory = fixtureDirectory("tiny-transformer-seq2seq")
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/reference.json")))
        let (loaded, sourceWords, _) = try Seq2SeqDirectory.load(directory)
        let model = try #require(loaded as? TransformerEncoderDecoder)
        #expect(sourceWords.count == 9 && model.alignmentName == "cross-attention")
        model.train()
        let logits = model.logits(source: reference.source, sourceLengths: reference.lengths, targetInputs: reference.target_inputs)
        let worst = zip(logits.scalars, reference.logits).map { abs(Double($0) - $1) }.max()!
        #expect(worst < 1e-4, "largest logit difference \(worst)")
        let loss = logits.crossEntropy(targets: reference.targets)
        #expect(abs(Double(loss.item()) - reference.loss) < 1e-5)
        loss.backward()
        #expect(model.namedParameters.count == reference.grads.count)
        for (name, p) in model.namedParameters {
            let expected = try #require(reference.grads[name], "no gradient for \(name)")
            let gap = zip(p.grad!.scalars, expected).map { abs(Double($0) - $1) }.max()!
            #expect(gap < 1e-4, "∂\(name): largest difference \(gap)")
        }
    }

    @Test("the gradients equal central finite differences")
    func finiteDifferences() throws {
        let directory = fixtureDirectory("tiny-transformer-seq2seq")
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/reference.json")))
        let model = try #require(try Seq2SeqDirectory.load(directory).model as? TransformerEncoderDecoder)
        func loss() -> Tensor {
            model.logits(source: reference.source, sourceLengths: reference.lengths, targetInputs: reference.target_inputs)
                .crossEntropy(targets: reference.targets)
        }
        loss().backward()
        for (name, p) in model.namedParameters where !name.hasSuffix("bias") || name.contains("cross_attn") {
            let analytic = p.grad!.scalars
            for i in stride(from: 0, to: p.count, by: max(1, p.count / 2)) {
                let original = p.scalars[i], eps: Float = 1e-2
                func at(_ v: Float) -> Double {
                    p.withUnsafeMutableBufferPointer { $0[i] = v }
                    return Double(Autograd.withNoGrad { loss() }.item())
                }
                let numeric = (at(original + eps) - at(original - eps)) / Double(2 * eps)
                p.withUnsafeMutableBufferPointer { $0[i] = original }
                #expect(abs(numeric - Double(analytic[i])) < 2e-3 + 2e-2 * abs(numeric), "∂\(name)[\(i)]: \(analytic[i]) vs \(numeric)")
            }
        }
    }

    @Test("cross-attention rows are distributions over the source, and the translation's alignment is their head mean")
    func crossAttention() throws {
        let (loaded, _, _) = try Seq2SeqDirectory.load(fixtureDirectory("tiny-transformer-seq2seq"))
        let model = loaded as! TransformerEncoderDecoder
        let maps = model.crossAttention(source: [3, 4, 5], targetInputs: [1, 3, 4])
        #expect(maps.count == 2 && maps[0].shape == [2, 3, 3])
        let w = maps[1].scalars
        for row in 0..<6 { #expect(abs(w[(row * 3)..<(row * 3 + 3)].reduce(0, +) - 1) < 1e-5) }
        let out = model.translate([3, 4, 5], begin: 1, end: 2, maxLength: 6, beam: 1)
        #expect(out.alignments.count == out.ids.count)
        if out.ids.count >= 1 {
            let first = model.crossAttention(source: [3, 4, 5], targetInputs: [1]).last!.scalars
            for j in 0..<3 { #expect(abs(out.alignments[0][j] - (first[j] + first[3 + j]) / 2) < 1e-5) }
        }
    }
}
