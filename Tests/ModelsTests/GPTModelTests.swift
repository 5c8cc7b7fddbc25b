// The GPT against Hugging Face `transformers` (logits, loss, greedy tokens), the book's parameter
// counts, the KV cache, a model directory's round trip (its failure modes: FormatsTests' CheckpointTests).

import Foundation
import Formats
import Inference
import Models
import NN
import Testing
import Tensors
import Tokenizers

@Suite("GPT")
struct GPTModelTests {
    @Test(arguments: ["tiny-gpt2-tied", "tiny-gpt2-untied"])
    func equalsTransformers(_ name: String) throws {
        let dir = fixtureDirectory(name)
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/reference.json")))
        let model = try Checkpoint.load(dir)
        #expect(model.config.tieWordEmbeddings == (name == "tiny-gpt2-tied"))
        for (prompt, expected) in zip(ref.prompts, ref.logits) {
            let logits = Autograd.withNoGrad { model(prompt, batch: 1) }.scalars
            let flat = expected.flatMap { $0 }
            let worst = zip(logits, flat).map { abs(Double($0) - $1) }.max()!
            #expect(logits.count == flat.count && worst < 1e-4, "max logit difference \(worst)")
        }
        let seq = ref.sequence
        let loss = Autograd.withNoGrad {
            model(Array(seq.dropLast()), batch: 1).reshaped([seq.count - 1, -1]).crossEntropy(targets: Array(seq.dropFirst()))
        }.item()
        #expect(abs(Double(loss) - ref.loss) / ref.loss < 1e-5, "loss \(loss) vs \(ref.loss)")
        let greedy = try model.generate(prompt: ref.prompts[0], encoding: Encoding.named("gpt2"),
                                        options: SamplingOptions(maxNewTokens: 20, temperature: 0))
        #expect(greedy.ids == ref.greedy)
    }

    /// A checkpoint our trainer wrote (GPT-2, Llama, Qwen3), loaded by `transformers`
    /// (scripts/check_transformers_roundtrip.py): both compute the same logits from the same files.
    @Test(arguments: ["ours-micro", "ours-micro-llama", "ours-micro-qwen3"])
    func ourCheckpointReadsTheSameInTransformers(_ name: String) throws {
        struct RoundTrip: Decodable { let prompt: [Int]; let logits_first_rows: [[Double]]; let logits_argmax: [Int] }
        let dir = fixtureDirectory(name)
        let ref = try JSONDecoder().decode(RoundTrip.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/reference.json")))
        let model = try Checkpoint.load(dir)
        let logits = Autograd.withNoGrad { model(ref.prompt, batch: 1) }                // (1, T, V)
        for (t, row) in ref.logits_first_rows.enumerated() {
            let ours = logits.select(1, t).narrow(1, start: 0, length: row.count).scalars
            let worst = zip(ours, row).map { abs(Double($0) - $1) }.max()!
            #expect(worst < 1e-4, "position \(t): max difference \(worst)")
        }
        #expect(logits.squeezed(0).argmax(axis: -1) == ref.logits_argmax)
    }

    @Test func parameterCountsMatchTheBook() throws {
        var untied = GPTConfig.book124M
        untied.tieWordEmbeddings = false
        #expect(try GPTModel(untied).parameterCount == 163_009_536)
        #expect(try GPTModel(GPTConfig.book124M).parameterCount == 124_412_160)
    }

    @Test(arguments: PositionalEncodingKind.allCases)
    func cachedGenerationEqualsUncached(_ positions: PositionalEncodingKind) throws {
        var config = GPTConfig(vocabSize: 300, contextLength: 32, embeddingSize: 32, layers: 2, heads: 4, dropout: 0)
        config.positionalEncoding = positions
        let model = try GPTModel(config, seed: 3)
        model.eval()
        let ids = [5, 17, 42, 7, 99, 3, 250, 8]
        let full = Autograd.withNoGrad { model(ids, batch: 1) }          // (1, 8, V)
        let cache = KVCache(layers: 2)
        var stepwise: [Float] = Autograd.withNoGrad { model(Array(ids.prefix(3)), batch: 1, cache: cache) }.scalars
        for id in ids.dropFirst(3) { stepwise += Autograd.withNoGrad { model([id], batch: 1, cache: cache) }.scalars }
        let worst = zip(full.scalars, stepwise).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-4, "\(positions): cached and uncached logits differ by \(worst)")
        let gpt2 = try Encoding.named("gpt2")
        let options = SamplingOptions(maxNewTokens: 40, temperature: 0.8, topK: 20, seed: 5)
        let a = try model.generate(prompt: ids, encoding: gpt2, options: options, useCache: true)
        let b = try model.generate(prompt: ids, encoding: gpt2, options: options, useCache: false)
        #expect(a.ids == b.ids, "sliding past the context with and without the cache")
    }

    @Test func attentionWeightsAreCausalDistributions() throws {
        let model = try Checkpoint.load(fixtureDirectory("tiny-gpt2-tied"))
        let w = model.attentionWeights([3, 14, 15, 92, 65], layer: 1)     // (H, T, T)
        #expect(w.shape == [4, 5, 5])
        for s in w.sum(axis: -1).scalars { #expect(abs(s - 1) < 1e-5) }
        #expect(w.select(1, 0).select(1, 1).scalars.allSatisfy { $0 == 0 }, "the first token sees only itself")
    }

    @Test func samplingOptions() {
        let logits: [Float] = [1, 5, 3, 4, -2]
        var g = SeededGenerator(seed: 1)
        #expect(sampleToken(logits, options: SamplingOptions(temperature: 0), generator: &g) == 1)
        for _ in 0..<50 {
            #expect(sampleToken(logits, options: SamplingOptions(temperature: 1, topK: 2), generator: &g) != 2)
            // softmax of [5, 4, 3, 1, -2]: the top one holds 0.66 of the mass, so top-p 0.5 keeps it alone.
            #expect(sampleToken(logits, options: SamplingOptions(temperature: 1, topP: 0.5), generator: &g) == 1)
        }
        var counts = [Int](repeating: 0, count: 5)
        for _ in 0..<4000 { counts[sampleToken(logits, options: SamplingOptions(temperature: 1), generator: &g)] += 1 }
        #expect(abs(Double(counts[1]) / 4000 - 0.6439) < 0.03, "draws follow softmax: \(counts)")
    }

    /// The cut-offs sort only the tokens they can keep; what they keep must be what sorting the whole
    /// vocabulary gives: the same tokens in the same order (ties to the smaller id), the same weights.
    @Test func samplingCutOffsEqualSortingTheWholeVocabulary() {
        func reference(_ logits: [Float], k: Int?, p: Float?, temperature: Float) -> [(token: Int, weight: Float)] {
            var order = logits.indices.map { ($0, logits[$0] / temperature) }
            order.sort { $0.1 > $1.1 } // stable
            if let k { order = Array(order.prefix(k)) }
            let top = order[0].1
            var weights = order.map { Foundation.exp($0.1 - top) }
            if let p {
                // The normaliser summed in the order the implementation sums it (vocabulary order without
                // top-k), so the comparison can be exact; another order moves only its last bits.
                let total = k == nil ? logits.reduce(Float(0)) { $0 + Foundation.exp($1 / temperature - top) } : weights.reduce(0, +)
                var cumulative: Float = 0, keep = 0
                while keep < weights.count {
                    cumulative += weights[keep] / total
                    keep += 1
                    if cumulative >= p { break }
                }
                order = Array(order.prefix(keep))
                weights = Array(weights.prefix(keep))
            }
            return zip(order, weights).map { ($0.0, $1) }
        }
        var g = SeededGenerator(seed: 11)
        for trial in 0..<40 {
            let vocabulary = [2, 7, 300, 5000][trial % 4]
            // Peaked (a trained model), flat (a random one) and coarse logits (many ties).
            let spread: Float = [8, 0.05, 3][trial % 3]
            var logits = (0..<vocabulary).map { _ in g.nextNormal() * spread }
            if trial % 5 == 0 { logits = logits.map { ($0 * 2).rounded() / 2 } }
            for (k, p) in [(1, nil), (2, nil), (40, nil), (vocabulary - 1, nil), (nil, 0.01), (nil, 0.5), (nil, 0.9),
                           (nil, 0.999), (40, 0.9), (3, 0.3)] as [(Int?, Float?)] {
                let temperature: Float = [1, 0.7, 1.6][trial % 3]
                let options = SamplingOptions(temperature: temperature, topK: k, topP: p)
                let kept = samplingCandidates(logits, options: options)
                let expected = reference(logits, k: k.flatMap { $0 < vocabulary ? $0 : nil }, p: p, temperature: temperature)
                #expect(kept.map(\.token) == expected.map(\.token), "V \(vocabulary), k \(String(describing: k)), p \(String(describing: p))")
                #expect(kept.map(\.weight) == expected.map(\.weight))
            }
        }
        // A broken model's logits (NaN, infinities) still give a token, never a trap.
        for logits: [Float] in [[.nan, .nan, .nan], [1, .infinity, 2], [-.infinity, -.infinity], [.nan, 3, -.infinity]] {
            for options in [SamplingOptions(temperature: 1), SamplingOptions(temperature: 0.5, topK: 1),
                            SamplingOptions(temperature: 1, topP: 0.5), SamplingOptions(temperature: 0)] {
                let token = sampleToken(logits, options: options, generator: &g)
                #expect(logits.indices.contains(token))
            }
        }
        #expect(sampleToken([1, .infinity, 2], options: SamplingOptions(temperature: 1, topP: 0.9), generator: &g) == 1)
    }

    @Test func checkpointRoundTrip() throws {
        let config = GPTConfig(vocabSize: 100, contextLength: 16, embeddingSize: 16, layers: 1, heads: 2, tieWordEmbeddings: false)
        let model = try GPTModel(config, seed: 9)
        model.eval()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llm-ckpt-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Checkpoint.save(model, to: dir)
        let loaded = try Checkpoint.load(dir)
        #expect(loaded.config == config)
        #expect(Autograd.withNoGrad { loaded([1, 2, 3], batch: 1) }.scalars == Autograd.withNoGrad { model([1, 2, 3], batch: 1) }.scalars)
    }
}
