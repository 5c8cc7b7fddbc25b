// InferenceModel (the generation path: preallocated KV slots, weights in any type) against GPTModel's
// own forward pass, prefill against token-by-token decoding, batch invariance across slots, and the
// 16/8-bit models against fp32 — for GPT-2 and for the Llama family (grouped-query attention, rotary
// positions, SwiGLU; Qwen3's head norms and a head width that is not C / H).

import Foundation
import Inference
import Models
import NN
import Tensors
import Testing
import Tokenizers

@Suite("Inference model")
struct InferenceModelTests {
    /// A model whose widths are multiples of 32 (q8_0's block), with untied head and sinusoidal variant.
    static func model(tied: Bool = true, positions: PositionalEncodingKind = .learned) throws -> GPTModel {
        var config = GPTConfig(vocabSize: 500, contextLength: 48, embeddingSize: 64, layers: 2, heads: 4, dropout: 0)
        config.tieWordEmbeddings = tied
        config.positionalEncoding = positions
        let model = try GPTModel(config, seed: 11)
        model.eval()
        return model
    }

    /// GPT-2 ("gpt2"), or the same sizes as Llama (4 query heads sharing 2 key/value heads, untied) and
    /// Qwen3 (1 key/value head, heads 32 wide so queries are 128 wide for C = 64, tied).
    static func model(_ family: String) throws -> GPTModel {
        guard family != "gpt2" else { return try model() }
        var config = try GPTConfig.preset(family == "llama" ? "llama-tiny" : "qwen3-tiny")
        config.vocabSize = 500
        config.contextLength = 48
        config.embeddingSize = 64
        config.intermediateSize = 96
        config.keyValueHeadCount = family == "llama" ? 2 : 1
        config.headDimensionOverride = family == "llama" ? nil : 32
        config.tieWordEmbeddings = family != "llama"
        let model = try GPTModel(config, seed: 12)
        // Norms away from 1, so a norm read from the wrong place shows.
        var g = SeededGenerator(seed: 13)
        for (name, p) in model.namedParameters where name.hasSuffix("norm.weight") {
            let noise = Tensor.normal(p.shape, std: 0.3, generator: &g).scalars
            p.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] += noise[i] } }
        }
        model.eval()
        return model
    }

    static let families = ["gpt2", "llama", "qwen3"]

    static let ids = [5, 17, 42, 7, 99, 3, 250, 8, 1, 2, 3, 4, 400, 401, 402, 77, 66, 55, 44, 33, 22]

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max()! }

    @Test("prefill and decode equal GPTModel's logits", arguments: [(true, PositionalEncodingKind.learned), (false, .learned), (true, .sinusoidal)])
    func equalsGPTModel(_ tied: Bool, _ positions: PositionalEncodingKind) throws {
        let model = try Self.model(tied: tied, positions: positions)
        let ids = Self.ids
        let reference = Autograd.withNoGrad { model(ids, batch: 1) }.scalars            // (T, V)
        let fast = try InferenceModel(model)
        // All rows at once (more than the row-kernel limit: the GEMM path), logits for every row.
        let cache = KVSlots(slots: 2, config: model.config)
        let all = fast.forward(tokens: ids, slots: Array(repeating: 1, count: ids.count), positions: Array(0..<ids.count),
                               cache: cache, logitsFor: Array(0..<ids.count))
        #expect(maxDifference(all, reference) < 1e-4)
        // A 3-token prefill, then one token at a time.
        let steps = KVSlots(slots: 1, config: model.config)
        var stepwise = fast.forward(tokens: Array(ids.prefix(3)), slots: [0, 0, 0], positions: [0, 1, 2], cache: steps, logitsFor: [0, 1, 2])
        for (i, id) in ids.enumerated().dropFirst(3) {
            stepwise += fast.forward(tokens: [id], slots: [0], positions: [i], cache: steps, logitsFor: [0])
        }
        #expect(maxDifference(stepwise, reference) < 1e-4)
        #expect(steps.tokens[0] == ids)
    }

    @Test("the Llama family's prefill and decode equal GPTModel's logits", arguments: ["llama", "qwen3"])
    func llamaFamilyEqualsGPTModel(_ family: String) throws {
        let model = try Self.model(family)
        let ids = Self.ids
        let reference = Autograd.withNoGrad { model(ids, batch: 1) }.scalars
        let fast = try InferenceModel(model)
        let all = fast.forward(tokens: ids, slots: Array(repeating: 0, count: ids.count), positions: Array(0..<ids.count),
                               cache: KVSlots(slots: 1, config: model.config), logitsFor: Array(0..<ids.count))
        #expect(maxDifference(all, reference) < 1e-4)
        let steps = KVSlots(slots: 1, config: model.config)
        #expect(steps.width == model.config.keyValueHeads * model.config.headDimension)
        var stepwise = fast.forward(tokens: Array(ids.prefix(3)), slots: [0, 0, 0], positions: [0, 1, 2], cache: steps, logitsFor: [0, 1, 2])
        for (i, id) in ids.enumerated().dropFirst(3) {
            stepwise += fast.forward(tokens: [id], slots: [0], positions: [i], cache: steps, logitsFor: [0])
        }
        #expect(maxDifference(stepwise, reference) < 1e-4)
    }

    @Test("a sequence decodes bit-identically alone and among others", arguments: families)
    func batchInvariance(_ family: String) throws {
        let model = try Self.model(family)
        for type in WeightType.allCases {
            let fast = try InferenceModel(model).converted(to: type)
            let prompts = (0..<8).map { s in Array(Self.ids.prefix(2 + 2 * s).map { ($0 * (s + 1)) % 500 }) }
            func decode(_ chosen: [Int]) -> [Int: [[Float]]] {
                let cache = KVSlots(slots: 8, config: model.config)
                var out: [Int: [[Float]]] = [:]
                for s in chosen { _ = fast.forward(tokens: prompts[s], slots: Array(repeating: s, count: prompts[s].count),
                                                  positions: Array(0..<prompts[s].count), cache: cache, logitsFor: []) }
                for step in 0..<5 {
                    let tokens = chosen.map { (step * 31 + $0 * 7) % 500 }
                    let logits = fast.forward(tokens: tokens, slots: chosen, positions: chosen.map { cache.length($0) },
                                              cache: cache, logitsFor: Array(chosen.indices))
                    for (i, s) in chosen.enumerated() { out[s, default: []].append(Array(logits[(i * 500)..<((i + 1) * 500)])) }
                }
                return out
            }
            let together = decode(Array(0..<8))
            for s in [0, 3, 7] {
                #expect(decode([s])[s]! == together[s]!, "\(type.rawValue): sequence \(s)")
            }
        }
    }

    @Test("16- and 8-bit weights stay close to fp32", arguments: WeightType.allCases, families)
    func lowPrecision(_ type: WeightType, _ family: String) throws {
        let model = try family == "gpt2" ? Self.model(tied: false) : Self.model(family)
        let ids = Self.ids
        let fp32 = try InferenceModel(model)
        let low = try fp32.converted(to: type)
        #expect(low.typeDescription == type.rawValue)
        func logits(_ m: InferenceModel) -> [Float] {
            m.forward(tokens: ids, slots: Array(repeating: 0, count: ids.count), positions: Array(0..<ids.count),
                      cache: KVSlots(slots: 1, config: model.config), logitsFor: Array(ids.indices))
        }
        let a = logits(fp32), b = logits(low)
        let scale = a.map(abs).max()!
        let tolerance: Float = switch type { case .f32: 1e-6; case .f16: 2e-3; case .bf16: 2e-2; case .q8_0: 3e-2 }
        #expect(maxDifference(a, b) / scale < tolerance, "\(type.rawValue): \(maxDifference(a, b) / scale)")
        let bytes = Double(low.weightBytes) / Double(fp32.weightBytes)
        #expect(abs(bytes - type.bitsPerWeight / 32) < 0.02, "\(type.rawValue) weighs \(bytes) of fp32")
    }

    @Test("generation through the slots equals GPTModel's uncached generation", arguments: families)
    func generationMatches(_ family: String) throws {
        let model = try Self.model(family)
        let gpt2 = try Encoding.named("gpt2")
        let options = SamplingOptions(maxNewTokens: 60, temperature: 0) // past the 48-token context: the window slides
        let fast = try InferenceModel(model).generate(prompt: Self.ids, encoding: gpt2, options: options)
        let slow = try model.generate(prompt: Self.ids, encoding: gpt2, options: options, useCache: false)
        #expect(fast.ids == slow.ids)
        #expect(fast.ids.count == 60)
    }

    @Test("attention weights and mean embeddings equal GPTModel's (the playground's pictures)", arguments: families)
    func inspectionEqualsGPTModel(_ family: String) throws {
        let model = try Self.model(family)
        let fast = try InferenceModel(model)
        for layer in 0..<model.config.layers {
            let reference = model.attentionWeights(Self.ids, layer: layer).scalars   // (H, T, T)
            let ours = fast.attentionWeights(Self.ids, layer: layer)
            #expect(ours.count == reference.count)
            #expect(maxDifference(ours, reference) < 1e-5, "layer \(layer)")
        }
        let rows = Autograd.withNoGrad { model.tokenEmbedding.weight.indexSelect(0, [5, 17, 42]).mean(axis: 0) }.scalars
        #expect(maxDifference(fast.meanEmbedding([5, 17, 42]), rows) < 1e-6)
    }
}
