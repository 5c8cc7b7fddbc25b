// Embeddings, positional encodings and the sliding-window data loader (chapter 2).

import Foundation
import NN
import Testing
import Tensors
import Tokenizers
import Training

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

@Suite("Sliding-window data")
struct DataLoaderTests {
    let verdictIDs: [Int] = {
        let url = Bundle.module.url(forResource: "the-verdict", withExtension: "txt")!
        return try! Encoding.named("gpt2").encodeOrdinary(String(contentsOf: url, encoding: .utf8))
    }()

    @Test func firstBatchMatchesTheBook() throws {
        let ds = try SlidingWindowDataset(tokens: verdictIDs, maxLength: 4, stride: 1)
        let batch = try DataLoader(ds, batchSize: 1).batches(epoch: 0)
        #expect(batch[0].inputs == [40, 367, 2885, 1464])
        #expect(batch[0].targets == [367, 2885, 1464, 1807])
        #expect(batch[1].inputs == [367, 2885, 1464, 1807])
    }

    @Test func strideEqualToLengthGivesNonOverlappingWindows() throws {
        let ds = try SlidingWindowDataset(tokens: verdictIDs, maxLength: 4, stride: 4)
        let batches = try DataLoader(ds, batchSize: 8).batches(epoch: 0)
        #expect(batches[0].inputs == Array(verdictIDs[0..<32]))
        #expect(ds.count == (verdictIDs.count - 4 + 3) / 4)
    }

    @Test func shuffleIsSeededAndDropLastDrops() throws {
        let ds = try SlidingWindowDataset(tokens: Array(0..<103), maxLength: 4, stride: 4)
        let a = try DataLoader(ds, batchSize: 5, shuffle: true, seed: 7), b = try DataLoader(ds, batchSize: 5, shuffle: true, seed: 7)
        #expect(a.batches(epoch: 0).map(\.inputs) == b.batches(epoch: 0).map(\.inputs))
        #expect(a.batches(epoch: 0).map(\.inputs) != a.batches(epoch: 1).map(\.inputs))
        #expect(ds.count == 25 && a.count == 5)
        let keep = try DataLoader(ds, batchSize: 10, dropLast: false)
        #expect(keep.batches(epoch: 0).last!.batchSize == 5)
    }

    @Test func badInputNamesTheNumbers() {
        #expect(throws: DatasetError.self) { try SlidingWindowDataset(tokens: [1, 2, 3], maxLength: 4, stride: 1) }
        #expect(throws: DatasetError.self) { try SlidingWindowDataset(tokens: Array(0..<10), maxLength: 4, stride: 0) }
        do {
            _ = try SlidingWindowDataset(tokens: Array(0..<2000), maxLength: 2048, stride: 1, contextLimit: 1024)
        } catch {
            #expect("\(error)".contains("2048") && "\(error)".contains("1024"))
        }
    }
}
