// The Llama 3 and Qwen3 families against Hugging Face `transformers` (scripts/make_llama_goldens.py):
// logits, loss, the loss's gradients and greedy tokens of tiny random models, one saved in shards and
// one in bfloat16; config.json in both spellings of the rotary settings; parameter counts of the real
// shapes; the grouped-query KV cache; saving and loading back.

import Formats
import Foundation
import Inference
import Models
import NN
import Tensors
import Testing
import Tokenizers

@Suite("Llama 3 and Qwen3")
struct LlamaFamilyTests {
    struct FamilyReference: Decodable {
        let prompts: [[Int]]
        let logits: [[[Double]]]
        let sequence: [Int]
        let loss: Double
        let gradients: [String: [Double]]
        let greedy: [Int]
    }

    func reference(_ dir: String) throws -> FamilyReference {
        try JSONDecoder().decode(FamilyReference.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/reference.json")))
    }

    @Test(arguments: ["tiny-llama3", "tiny-qwen3", "tiny-qwen3-bf16"])
    func equalsTransformers(_ name: String) throws {
        let dir = fixtureDirectory(name)
        let ref = try reference(dir)
        let model = try Checkpoint.load(dir)
        #expect(model.config.architecture == (name == "tiny-llama3" ? .llama : .qwen3))
        for (prompt, expected) in zip(ref.prompts, ref.logits) {
            let logits = Autograd.withNoGrad { model(prompt, batch: 1) }.scalars
            let flat = expected.flatMap { $0 }
            let worst = zip(logits, flat).map { abs(Double($0) - $1) }.max()!
            #expect(logits.count == flat.count && worst < 1e-4, "max logit difference \(worst)")
        }
        // The loss and its gradients, in training mode (no dropout in these models).
        model.train()
        let seq = ref.sequence
        let loss = model(Array(seq.dropLast()), batch: 1).reshaped([seq.count - 1, -1]).crossEntropy(targets: Array(seq.dropFirst()))
        #expect(abs(Double(loss.item()) - ref.loss) / ref.loss < 1e-5, "loss \(loss.item()) vs \(ref.loss)")
        loss.backward()
        let parameters = Dictionary(uniqueKeysWithValues: model.namedParameters)
        for (parameterName, expected) in ref.gradients {
            let p = try #require(parameters[parameterName], "no parameter \(parameterName)")
            // nn.Linear stores (out, in); our Linear (in, out).
            let grad = parameterName.hasSuffix("_proj.weight") ? p.grad!.transposed().scalars : p.grad!.scalars
            let scale = expected.map { abs($0) }.max()!
            let worst = zip(grad, expected).map { abs(Double($0) - $1) }.max()!
            #expect(grad.count == expected.count && worst <= 1e-4 * max(scale, 1e-3), "\(parameterName): gradient off by \(worst) (scale \(scale))")
        }
        model.eval()
        let greedy = try model.generate(prompt: ref.prompts[0], encoding: Encoding.named("gpt2"),
                                        options: SamplingOptions(maxNewTokens: 20, temperature: 0))
        #expect(greedy.ids == ref.greedy)
    }

    @Test("the inference path reads the files as stored and equals transformers", arguments: ["tiny-llama3", "tiny-qwen3", "tiny-qwen3-bf16"])
    func inferenceModelEqualsTransformers(_ name: String) throws {
        let dir = fixtureDirectory(name)
        let ref = try reference(dir)
        let (fast, _) = try InferenceModel.load(dir)
        #expect(fast.typeDescription == (name.hasSuffix("bf16") ? "bf16" : "f32"), "matrices kept in their stored type")
        for (prompt, expected) in zip(ref.prompts, ref.logits) {
            let logits = fast.forward(tokens: prompt, slots: Array(repeating: 0, count: prompt.count), positions: Array(prompt.indices),
                                      cache: KVSlots(slots: 1, config: fast.config), logitsFor: Array(prompt.indices))
            let worst = zip(logits, expected.flatMap { $0 }).map { abs(Double($0) - $1) }.max()!
            #expect(worst < 1e-4, "max logit difference \(worst)")
        }
        let greedy = try fast.generate(prompt: ref.prompts[0], encoding: Encoding.named("gpt2"),
                                       options: SamplingOptions(maxNewTokens: 20, temperature: 0))
        #expect(greedy.ids == ref.greedy)
    }

    @Test func sixteenBitDirectoriesKeepTheFamilysNames() throws {
        let source = fixtureDirectory("tiny-qwen3")
        let (fast, _) = try InferenceModel.load(source)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llm-qwen-f16-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try fast.writeDirectory(dir, type: .f16)
        let written = try Safetensors.read(dir + "/model.safetensors"), original = try Safetensors.read(source + "/model.safetensors")
        #expect(Set(written.entries.keys) == Set(original.entries.keys))
        for (name, entry) in original.entries { #expect(written.entries[name]?.shape == entry.shape, "\(name)") }
        let (reloaded, _) = try InferenceModel.load(dir)
        #expect(reloaded.typeDescription == "f16" && reloaded.config == fast.config)
        let prompt = [15, 7, 300, 42]
        func logits(_ m: InferenceModel) -> [Float] {
            m.forward(tokens: prompt, slots: [0, 0, 0, 0], positions: [0, 1, 2, 3], cache: KVSlots(slots: 1, config: m.config), logitsFor: [3])
        }
        let a = logits(fast), b = logits(reloaded)
        #expect(zip(a, b).map { abs($0 - $1) }.max()! / a.map(abs).max()! < 5e-3)
    }

    @Test func configKeysOfBothTransformersGenerations() throws {
        // The Hub's Llama 3.2 files: rope_theta and rope_scaling apart, eos_token_id a list.
        let legacy = """
        {"model_type": "llama", "vocab_size": 128256, "hidden_size": 2048, "intermediate_size": 8192,
         "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64,
         "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
         "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                          "original_max_position_embeddings": 8192, "rope_type": "llama3"},
         "tie_word_embeddings": true, "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu"}
        """
        let config = try JSONDecoder().decode(GPTConfig.self, from: Data(legacy.utf8))
        #expect(config == GPTConfig.presets["llama-3.2-1b"].map { var c = $0; c.endTokenIds = [128001, 128008, 128009]; return c })
        // What we write reads back the same, in both spellings.
        let written = try JSONEncoder().encode(config)
        #expect(try JSONDecoder().decode(GPTConfig.self, from: written) == config)
        let object = try #require(try JSONSerialization.jsonObject(with: written) as? [String: Any])
        #expect((object["rope_parameters"] as? [String: Any])?["rope_type"] as? String == "llama3")
        #expect((object["rope_scaling"] as? [String: Any])?["factor"] as? Double == 32)
        // Refused clearly: another rope type, a sliding window, a family we do not know.
        for (bad, message) in [(#""rope_scaling": {"rope_type": "yarn", "factor": 4.0}"#, "yarn"),
                               (#""use_sliding_window": true"#, "sliding-window"), (#""hidden_act": "gelu""#, "gelu")] {
            let json = legacy.replacingOccurrences(of: #""tie_word_embeddings": true"#, with: bad)
                .replacingOccurrences(of: #""rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,"#, with: #""x": {"#)
            #expect(throws: (any Error).self, "\(message)") { try JSONDecoder().decode(GPTConfig.self, from: Data(json.utf8)) }
        }
        #expect(throws: (any Error).self) { try JSONDecoder().decode(GPTConfig.self, from: Data(#"{"model_type": "mistral"}"#.utf8)) }
    }

    @Test func parameterCountsOfTheRealShapes() throws {
        let counts = try JSONDecoder().decode([String: Int].self, from: Data(contentsOf: URL(
            fileURLWithPath: fixtureDirectory("llama-family-parameters.json"))))
        for (name, count) in counts { #expect(try GPTConfig.preset(name).parameterCount == count, "\(name)") }
        for name in ["llama-tiny", "qwen3-tiny"] {
            let config = try GPTConfig.preset(name)
            #expect(try GPTModel(config).parameterCount == config.parameterCount, "\(name)")
        }
        let fixture = try Checkpoint.load(fixtureDirectory("tiny-llama3"))
        #expect(fixture.parameterCount == fixture.config.parameterCount)
    }

    @Test(arguments: ["llama-tiny", "qwen3-tiny"])
    func cachedGenerationEqualsUncached(_ preset: String) throws {
        var config = try GPTConfig.preset(preset)
        config.vocabSize = 300
        config.contextLength = 24
        let model = try GPTModel(config, seed: 4)
        model.eval()
        let ids = [5, 17, 42, 7, 99, 3, 250, 8]
        let full = Autograd.withNoGrad { model(ids, batch: 1) }
        let cache = KVCache(layers: config.layers)
        var stepwise: [Float] = Autograd.withNoGrad { model(Array(ids.prefix(3)), batch: 1, cache: cache) }.scalars
        for id in ids.dropFirst(3) { stepwise += Autograd.withNoGrad { model([id], batch: 1, cache: cache) }.scalars }
        let worst = zip(full.scalars, stepwise).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-4, "cached and uncached logits differ by \(worst)")
        // The cache holds the key/value heads only: 2 of them here, for 4 query heads.
        #expect(model.blocks[0].attention.projectHeads(Tensor.zeros([1, 1, config.embeddingSize])).k.shape[1] == config.keyValueHeads)
        let gpt2 = try Encoding.named("gpt2")
        let options = SamplingOptions(maxNewTokens: 30, temperature: 0.8, topK: 20, seed: 5)
        let a = try model.generate(prompt: ids, encoding: gpt2, options: options, useCache: true)
        let b = try model.generate(prompt: ids, encoding: gpt2, options: options, useCache: false)
        #expect(a.ids == b.ids, "sliding past the context with and without the cache")
    }

    @Test(arguments: ["llama-tiny", "qwen3-tiny"])
    func checkpointRoundTrip(_ preset: String) throws {
        var config = try GPTConfig.preset(preset)
        config.vocabSize = 200
        config.tieWordEmbeddings = preset == "qwen3-tiny"
        let model = try GPTModel(config, seed: 9)
        model.eval()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llm-llama-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Checkpoint.save(model, to: dir)
        let loaded = try Checkpoint.load(dir)
        #expect(loaded.config == config)
        #expect(Autograd.withNoGrad { loaded([1, 2, 3], batch: 1) }.scalars == Autograd.withNoGrad { model([1, 2, 3], batch: 1) }.scalars)
        // Hugging Face's names and nn.Linear's (out, in) layout in the file.
        let file = try Safetensors.read(dir + "/model.safetensors")
        #expect(file.entries["model.layers.0.self_attn.k_proj.weight"]?.shape == [config.keyValueHeads * config.headDimension, config.embeddingSize])
        #expect(file.entries["model.layers.1.mlp.down_proj.weight"]?.shape == [config.embeddingSize, config.feedForwardSize])
        #expect((file.entries["lm_head.weight"] == nil) == config.tieWordEmbeddings)
    }

    @Test func rotaryScalingFollowsLlama3() {
        // Wavelengths shorter than 8192 / 4 kept, longer than 8192 / 1 divided by 32, blended between.
        let scaling = Llama3RopeScaling(factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 8192)
        let plain = RotaryEmbedding(headDimension: 64, base: 500_000), scaled = RotaryEmbedding(headDimension: 64, base: 500_000, scaling: scaling)
        for (p, s) in zip(plain.frequencies, scaled.frequencies) {
            let wavelength = 2 * Double.pi / p
            if wavelength < 2048 { #expect(s == p) } else if wavelength > 8192 { #expect(abs(s - p / 32) < 1e-15) } else { #expect(s < p && s > p / 32) }
        }
    }
}
