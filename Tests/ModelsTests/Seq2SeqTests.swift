// The RNN encoder-decoder with and without Bahdanau attention: gradients against finite differences, alignments
// that are distributions over the source's tokens (none on padding), and both learning a small transduction.

import Foundation
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
        #expect(model.translate([1, 2, 3], begin: 1, end: 0, maxLength: 4).ids.count <= 4)
    }

    @Test("both learn to reverse short sequences; translation is greedy and stops at the end token")
    func learnsToReverse() throws {
        // Tokens 0 padding / end, 1 begin, 2...9 symbols; the target is the source reversed.
        var g = SeededGenerator(seed: 5)
        func example() -> [Int] { (0..<(2 + Int(g.next() % 3))).map { _ in 2 + Int(g.next() % 8) } }
        for attention in [false, true] {
            let model = RNNEncoderDecoder(.init(sourceVocabulary: 10, targetVocabulary: 10, embeddingSize: 16, hiddenSize: 32, attention: attention), seed: 1)
            let optimizer = AdamW(parameters: model.parameters, learningRate: 1e-2, weightDecay: 0)
            for _ in 0..<400 {
                let batch = (0..<16).map { _ in example() }
                let s = batch.map(\.count).max()!, t = s + 1
                let source = batch.flatMap { $0 + [Int](repeating: 0, count: s - $0.count) }
                let inputs = batch.flatMap { [1] + $0.reversed() + [Int](repeating: 0, count: t - 1 - $0.count) }
                let targets = batch.flatMap { $0.reversed() + [0] + [Int](repeating: -100, count: t - 1 - $0.count) }
                let loss = model(source: source, sourceLengths: batch.map(\.count), targetInputs: inputs).logits.crossEntropy(targets: targets)
                optimizer.zeroGrad()
                loss.backward()
                optimizer.update()
            }
            let tests = (0..<50).map { _ in example() }
            let right = tests.filter { model.translate($0, begin: 1, end: 0, maxLength: 8).ids == $0.reversed() }.count
            // Seen here: 38 of 50 without attention, 50 of 50 with it (the decoder can look back at each source token).
            #expect(right >= (attention ? 45 : 30), "\(attention ? "with" : "without") attention: \(right) of 50 reversed exactly")
        }
    }
}
