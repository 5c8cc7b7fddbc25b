// The classifier against `transformers`' GPT2ForSequenceClassification, its independence from padding,
// model directories, and LoRA on whole models: the book's trainable-parameter count, adapters that
// change nothing at B = 0, merging, adapter files.

import Formats
import Foundation
import Models
import NN
import Tensors
import Testing

@Suite("Classifier and LoRA")
struct ClassifierTests {
    struct Reference: Decodable {
        let pad_token_id: Int
        let texts: [[Int]]
        let batch_logits: [[Double]]
        let single_logits: [[Double]]
    }

    func maxDifference(_ a: [Float], _ b: [Double]) -> Double { zip(a, b).map { abs(Double($0) - $1) }.max()! }

    @Test func equalsTransformersClassifier() throws {
        let dir = fixtureDirectory("tiny-gpt2-classifier")
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/reference.json")))
        let model = try GPTClassifier.load(dir)
        #expect(model.labels == ["negative", "neutral", "positive"])
        #expect(model.padTokenId == ref.pad_token_id)
        let t = ref.texts.map(\.count).max()!
        let ids = ref.texts.flatMap { $0 + Array(repeating: ref.pad_token_id, count: t - $0.count) }
        let logits = Autograd.withNoGrad { model(ids, batch: ref.texts.count, lengths: ref.texts.map(\.count)) }
        #expect(logits.shape == [3, 3])
        #expect(maxDifference(logits.scalars, ref.batch_logits.flatMap { $0 }) < 1e-5)
        for (text, expected) in zip(ref.texts, ref.single_logits) {
            let one = Autograd.withNoGrad { model(text, batch: 1, lengths: [text.count]) }.scalars
            #expect(maxDifference(one, expected) < 1e-5)
        }
    }

    @Test func probabilitiesDoNotDependOnBatching() throws {
        let model = try GPTClassifier.load(fixtureDirectory("tiny-gpt2-classifier"))
        let texts = [[5, 6, 7, 8, 9, 10, 11], [3], [40, 41, 42]]
        let together = model.probabilities(texts, batchSize: 3)
        let alone = texts.map { model.probabilities([$0])[0] }
        for (a, b) in zip(together, alone) { #expect(maxDifference(a, b.map(Double.init)) < 1e-5) }
        #expect(together.allSatisfy { abs($0.reduce(0, +) - 1) < 1e-5 })
    }

    @Test(arguments: ["gpt2", "qwen3-tiny"])
    func savedClassifierLoadsTheSame(_ family: String) throws {
        var config = GPTConfig(vocabSize: 300, contextLength: 16, embeddingSize: 16, layers: 2, heads: 2, dropout: 0)
        if family != "gpt2" { // Qwen3ForSequenceClassification: "model.layers…" names, (out, in) projections
            config = try GPTConfig.preset(family)
            (config.vocabSize, config.contextLength, config.embeddingSize, config.intermediateSize) = (300, 16, 16, 32)
        }
        let backbone = try GPTModel(config, seed: 3)
        let model = GPTClassifier(backbone: backbone, labels: ["ham", "spam"], padTokenId: 299, seed: 4)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("classifier-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try model.save(to: dir)
        let loaded = try GPTClassifier.load(dir)
        #expect(loaded.labels == ["ham", "spam"] && loaded.padTokenId == 299)
        let ids = [[1, 2, 3, 4], [9, 8]]
        let p1 = model.probabilities(ids), p2 = loaded.probabilities(ids)
        for (a, b) in zip(p1, p2) { #expect(a == b) }
        if family != "gpt2" {
            let file = try Safetensors.read(dir + "/model.safetensors")
            #expect(file.entries["model.layers.1.self_attn.q_proj.weight"]?.shape == [config.heads * config.headDimension, 16])
            #expect(file.entries["score.weight"]?.shape == [2, 16])
            #expect(try String(contentsOfFile: dir + "/config.json", encoding: .utf8).contains("Qwen3ForSequenceClassification"))
        }
        // A language-model directory is not a classifier.
        let lmDir = dir + "-lm"
        defer { try? FileManager.default.removeItem(atPath: lmDir) }
        try Checkpoint.save(backbone, to: lmDir)
        #expect(throws: GPTError.self) { try GPTClassifier.load(lmDir) }
    }

    /// The book's appendix E: rank-16 LoRA on the 124M spam classifier trains 2,666,528 parameters
    /// (its GPT has separate query, key and value layers; ours gives c_attn one adapter per block of columns).
    @Test func bookLoRAParameterCount() throws {
        var config = GPTConfig.book124M
        config.contextLength = 1024
        let backbone = try Initialization.withoutRandomValues { try GPTModel(config) }
        let model = Initialization.withoutRandomValues { GPTClassifier(backbone: backbone, labels: ["ham", "spam"]) }
        model.setTrainable(false)
        model.applyLoRA(rank: 16, alpha: 16)
        #expect(model.trainableParameters.reduce(0) { $0 + $1.count } == 2_666_528)
    }

    @Test func loraStartsAtTheBaseModelAndMergesExactly() throws {
        let config = GPTConfig(vocabSize: 300, contextLength: 16, embeddingSize: 16, layers: 2, heads: 2, dropout: 0)
        let model = try GPTModel(config, seed: 5)
        model.eval()
        let ids = [3, 1, 4, 1, 5, 9, 2, 6]
        let before = Autograd.withNoGrad { model(ids, batch: 2) }
        model.setTrainable(false)
        model.applyLoRA(rank: 4, alpha: 8, seed: 1)
        #expect(Autograd.withNoGrad { model(ids, batch: 2) }.scalars == before.scalars, "B = 0: the adapters change nothing")
        // Give B values, as training would; the output changes, and merging keeps it.
        var g = SeededGenerator(seed: 9)
        for (name, p) in LoRAAdapter.tensors(of: model) where name.hasSuffix(".B") {
            let values = Tensor.normal(p.shape, std: 0.1, generator: &g).scalars
            p.withUnsafeMutableBufferPointer { _ = $0.initialize(from: values) }
        }
        let adapted = Autograd.withNoGrad { model(ids, batch: 2) }
        #expect(zip(adapted.scalars, before.scalars).map { abs($0 - $1) }.max()! > 1e-3)
        // Adapter files round-trip onto a fresh copy of the base model.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adapter-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try LoRAAdapter.save(model, rank: 4, alpha: 8, to: dir)
        let fresh = try GPTModel(config, seed: 5)
        fresh.eval()
        try LoRAAdapter.load(dir, into: fresh)
        #expect(Autograd.withNoGrad { fresh(ids, batch: 2) }.scalars == adapted.scalars)
        model.mergeLoRA()
        #expect(LoRAAdapter.tensors(of: model).isEmpty)
        let merged = Autograd.withNoGrad { model(ids, batch: 2) }
        #expect(zip(merged.scalars, adapted.scalars).map { abs($0 - $1) }.max()! < 1e-5)
        // An adapter for another shape of model is refused.
        let other = try GPTModel(GPTConfig(vocabSize: 300, contextLength: 16, embeddingSize: 32, layers: 2, heads: 2), seed: 1)
        #expect(throws: GPTError.self) { try LoRAAdapter.load(dir, into: other) }
    }

    @Test func classifierAdapterCarriesItsHead() throws {
        let config = GPTConfig(vocabSize: 300, contextLength: 16, embeddingSize: 16, layers: 2, heads: 2, dropout: 0)
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("base-\(UUID())").path
        let adapterDir = base + "-adapter"
        defer { for d in [base, adapterDir] { try? FileManager.default.removeItem(atPath: d) } }
        try Checkpoint.save(try GPTModel(config, seed: 2), to: base)
        let model = GPTClassifier(backbone: try Checkpoint.load(base, dropOutputHead: true), labels: ["a", "b", "c"], padTokenId: 299, seed: 7)
        model.setTrainable(false)
        model.applyLoRA(rank: 2, alpha: 4, seed: 3)
        for (name, p) in LoRAAdapter.tensors(of: model) where name.hasSuffix(".B") {
            p.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = Float(i % 7) * 0.01 } }
        }
        let expected = model.probabilities([[1, 2, 3], [4]])
        try LoRAAdapter.save(model, rank: 2, alpha: 4, to: adapterDir)
        let loaded = try GPTClassifier.load(base: base, adapter: adapterDir)
        #expect(loaded.labels == ["a", "b", "c"])
        #expect(loaded.probabilities([[1, 2, 3], [4]]) == expected)
    }
}
