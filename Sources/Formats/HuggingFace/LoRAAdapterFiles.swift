// LoRA-only adapter files.
//
// An adapter directory holds `adapter_config.json` ({"r": rank, "lora_alpha": alpha}, PEFT's key
// names) and `adapter.safetensors` with only the A and B matrices, named as the model names them
// ("h.0.attn.c_attn.lora.1.A"); a few megabytes that turn a shared base model into the fine-tuned one.
// A classifier's head is new, not part of the base language model, so a classifier's adapter also
// carries the head's frozen base weight (`score.weight`, (K, C) as in model directories) and the
// labels, as PEFT's `modules_to_save` does.

import Foundation
import Models
import NN
import Tensors

public struct LoRAConfig: Codable, Equatable, Sendable {
    public var rank: Int
    public var alpha: Float
    /// A classifier's class names and padding token (nil for a language model's adapter).
    public var labels: [String]?
    public var padTokenId: Int?

    public init(rank: Int, alpha: Float, labels: [String]? = nil, padTokenId: Int? = nil) {
        self.rank = rank
        self.alpha = alpha
        self.labels = labels
        self.padTokenId = padTokenId
    }

    enum CodingKeys: String, CodingKey { case rank = "r", alpha = "lora_alpha", labels, padTokenId = "pad_token_id" }
}

public enum LoRAAdapter {
    public static let configFile = "adapter_config.json"
    public static let weightsFile = "adapter.safetensors"

    /// The adapter matrices of `model`, by name.
    public static func tensors(of model: Module) -> [(String, Tensor)] {
        model.namedParameters.filter { $0.0.contains(".lora.") }
    }

    /// Writes the adapters of `model` (not yet merged) into `directory`, each file atomically.
    public static func save(_ model: some LoRAAdaptable, rank: Int, alpha: Float, to directory: String) throws {
        var tensors = tensors(of: model)
        guard !tensors.isEmpty else { throw GPTError(description: "the model has no LoRA adapters to save") }
        var config = LoRAConfig(rank: rank, alpha: alpha)
        if let classifier = model as? GPTClassifier {
            tensors.append(("score.weight", Autograd.withNoGrad { classifier.head.weight.transposed() }))
            config.labels = classifier.labels
            config.padTokenId = classifier.padTokenId
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(config).write(to: URL(fileURLWithPath: directory + "/" + configFile), options: .atomic)
        try Safetensors.write(tensors, metadata: ["format": "pt"], to: directory + "/" + weightsFile)
    }

    /// Reads `adapter_config.json` of an adapter directory.
    public static func readConfig(_ directory: String) throws -> LoRAConfig {
        let path = directory + "/" + configFile
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GPTError(description: "\(path): missing (an adapter directory holds \(configFile) and \(weightsFile))")
        }
        guard let config = try? JSONDecoder().decode(LoRAConfig.self, from: data), config.rank >= 1 else {
            throw GPTError(description: "\(path): needs a positive integer \"r\" and a number \"lora_alpha\"")
        }
        return config
    }

    /// Adds the adapters saved in `directory` to `model`, a base model of the shape they were trained
    /// on (a classifier's head weight is read too). Call `mergeLoRA` afterwards to fold them in for speed.
    public static func load(_ directory: String, into model: some LoRAAdaptable) throws {
        let config = try readConfig(directory)
        guard tensors(of: model).isEmpty else { throw GPTError(description: "the model already has LoRA adapters") }
        let path = directory + "/" + weightsFile
        let file = try Safetensors.read(path)
        let classifier = model as? GPTClassifier
        if let classifier { try Checkpoint.fill([("score.weight", classifier.head.weight)], from: file, path: path, transposedNames: ["score.weight"]) }
        model.applyLoRA(rank: config.rank, alpha: config.alpha, seed: 0)
        let expected = tensors(of: model)
        if let extra = file.entries.keys.sorted().first(where: { name in name != "score.weight" && !expected.contains { $0.0 == name } }) {
            throw GPTError(description: "\(path): tensor \(extra) has no place in this model (an adapter for a different model?)")
        }
        try Checkpoint.fill(expected, from: file, path: path)
    }
}

extension GPTClassifier {
    /// A classifier from a base language-model directory and a classifier adapter directory.
    public static func load(base: String, adapter: String) throws -> GPTClassifier {
        let config = try LoRAAdapter.readConfig(adapter)
        guard let labels = config.labels, labels.count >= 2 else {
            throw GPTError(description: "\(adapter): not a classifier's adapter (adapter_config.json has no labels)")
        }
        let backbone = try Checkpoint.load(base, dropOutputHead: true)
        let pad = config.padTokenId ?? 50256
        guard pad >= 0 && pad < backbone.config.vocabSize else {
            throw GPTError(description: "\(adapter): pad_token_id \(pad) is outside the base model's vocabulary (\(backbone.config.vocabSize))")
        }
        let model = Initialization.withoutRandomValues { GPTClassifier(backbone: backbone, labels: labels, padTokenId: pad) }
        try LoRAAdapter.load(adapter, into: model)
        model.eval()
        return model
    }
}
