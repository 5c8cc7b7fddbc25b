// Embeddings and positional encodings (chapter 2): learned, sinusoidal, rotary, ALiBi-style relative.

import Foundation
import NN
import Testing
import Tensors

@Suite("Embeddings and positions")
struct EmbeddingAndPositionTests {
    @Test func embeddingEqualsOneHotTimesWeights() {
        var g = SeededGenerator(seed: 1)
        let emb = Embedding(6, 3, generator: &g)
        let ids = [2, 3, 5, 1, 3]
        let oneHot = Tensor(ids.flatMap { id in (0..<6).map { $0 == id ? Float(1) : 0 } }, shape: [5, 6])
        let w2 = Tensor(emb.weight.scalars, shape: [6, 3], requiresGrad: true)
        let lookup = emb(ids, shape: [5]), product = oneHot.matmul(w2)
        expectClose(lookup, product, "forward")
        let up = Tensor.normal([5, 3], generator: &g)
        (lookup * up).sum().backward()
        (product * up).sum().backward()
        expectClose(emb.weight.grad!, w2.grad!, "gradient (scatter-add, id 3 twice)")
    }

    @Test func sinusoidalTableIsTheClosedForm() {
        let pe = PositionalEncoding.sinusoidal(positions: 50, dimensions: 16)
        for (p, i) in [(0, 0), (1, 0), (7, 4), (49, 14), (13, 15)] {
            let pair = Double(i - i % 2)
            let angle = Double(p) / pow(10_000, pair / 16)
            let expected = i % 2 == 0 ? sin(angle) : cos(angle)
            #expect(abs(Double(pe.select(0, p).select(0, i).item()) - expected) < 1e-6)
        }
    }

    @Test func rotaryScoresDependOnlyOnTheOffset() {
        var g = SeededGenerator(seed: 2)
        let q = Tensor.normal([1, 8], generator: &g), k = Tensor.normal([1, 8], generator: &g)
        func score(_ i: Int, _ j: Int) -> Float {
            let qi = PositionalEncoding.applyRotary(q, start: i), kj = PositionalEncoding.applyRotary(k, start: j)
            return (qi * kj).sum().item()
        }
        #expect(abs(score(3, 1) - score(10, 8)) < 1e-4)
        #expect(abs(score(0, 0) - score(25, 25)) < 1e-4)
        #expect(abs(score(5, 1) - score(5, 4)) > 1e-3, "different offsets give different scores")
    }

    @Test func alibiBiasDependsOnlyOnTheDistance() {
        let bias = PositionalEncoding.alibiBias(heads: 4, queries: 6, keys: 6)
        for h in 0..<4 {
            let b = bias.select(0, h)
            #expect(b.select(0, 3).select(0, 1).item() == b.select(0, 5).select(0, 3).item())
            #expect(b.select(0, 2).select(0, 2).item() == 0)
        }
        // A cached query block lines up with its keys: the last query of a 2-row block at position 5.
        let cached = PositionalEncoding.alibiBias(heads: 4, queries: 2, keys: 6)
        #expect(cached.select(1, 1).scalars == bias.select(1, 5).scalars)
    }
}
