// Model directories in Hugging Face's GPT-2 layout: `config.json` (GPT2Config keys) and
// `model.safetensors` with GPT-2 tensor names (`transformer.wte.weight`, `transformer.h.0.attn.c_attn.weight`,
// ...). Reading accepts names with or without the `transformer.` prefix, treats a missing
// `lm_head.weight` as tied to the token embeddings, and ignores the attention-mask buffers
// (`attn.bias`, `attn.masked_bias`) older checkpoints carry. GPT-2's Conv1D weights are stored
// (in, out), which is our Linear layout, so no weight is transposed.

import Foundation
import NN
import Tensors

public enum Checkpoint {
    public static let configFile = "config.json"
    public static let weightsFile = "model.safetensors"

    /// Reads and validates `config.json` in `directory`.
    public static func readConfig(_ directory: String) throws -> GPTConfig {
        if OpenAICheckpoint.isCheckpointDirectory(directory) { return try OpenAICheckpoint.readConfig(directory) }
        let path = (directory as NSString).appendingPathComponent(configFile)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GPTError(description: "\(path): missing (a model directory holds config.json and model.safetensors)")
        }
        guard (try? JSONSerialization.jsonObject(with: data)) != nil else { throw GPTError(description: "\(path): not valid JSON") }
        do {
            let config = try JSONDecoder().decode(GPTConfig.self, from: data)
            try config.validate()
            return config
        } catch let DecodingError.keyNotFound(key, _) {
            throw GPTError(description: "\(path): the required key \"\(key.stringValue)\" is missing")
        } catch let DecodingError.typeMismatch(_, context) {
            throw GPTError(description: "\(path): \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type")
        } catch let error as GPTError {
            throw GPTError(description: "\(path): \(error.description)")
        }
    }

    /// Loads a model directory (ours or one `transformers` wrote). `dropOutputHead` builds the model
    /// without an untied `lm_head` (a classifier replaces the head, so there is no point in reading it).
    /// OpenAI's original TensorFlow files (hparams.json, model.ckpt.*) load too (OpenAICheckpoint).
    public static func load(_ directory: String, dropOutputHead: Bool = false) throws -> GPTModel {
        if OpenAICheckpoint.isCheckpointDirectory(directory) { return try OpenAICheckpoint.load(directory) }
        var config = try readConfig(directory)
        if dropOutputHead { config.tieWordEmbeddings = true }
        let model = try Initialization.withoutRandomValues { try GPTModel(config) } // weights come from the file
        let path = (directory as NSString).appendingPathComponent(weightsFile)
        try fill(model.namedParameters, from: try Safetensors.read(path), path: path)
        model.eval()
        return model
    }

    /// Points each parameter at the tensor of the same name in `file` (names compared without the
    /// `transformer.` prefix). Names in `transposedNames` are stored transposed in the file (nn.Linear's
    /// (out, in) layout) and are copied instead. Every parameter must be found with a matching shape.
    static func fill(_ parameters: [(String, Tensor)], from file: Safetensors.File, path: String,
                     transposedNames: Set<String> = []) throws {
        func bare(_ name: String) -> String { name.hasPrefix("transformer.") ? String(name.dropFirst("transformer.".count)) : name }
        var byName: [String: String] = [:] // our name → name in the file
        for name in file.entries.keys { byName[bare(name)] = name }
        var missing: [String] = []
        for (name, parameter) in parameters {
            guard let stored = byName[bare(name)], let entry = file.entries[stored] else {
                missing.append(name)
                continue
            }
            let transposed = transposedNames.contains(name)
            let expected = transposed ? parameter.shape.reversed() : parameter.shape
            guard entry.shape == expected else {
                throw GPTError(description: "\(path): tensor \(stored) has shape \(entry.shape), but config.json implies \(expected)")
            }
            if transposed {
                let values = try file.tensor(stored).transposed().scalars
                parameter.withUnsafeMutableBufferPointer { _ = $0.initialize(from: values) }
            } else {
                parameter.shareStorage(with: try file.tensor(stored))
            }
        }
        guard missing.isEmpty else {
            throw GPTError(description: "\(path): \(missing.count) tensor(s) missing: \(missing.joined(separator: ", "))")
        }
    }

    /// Writes `config.json` and `model.safetensors` into `directory` (created if needed), each atomically.
    public static func save(_ model: GPTModel, to directory: String, metadata: [String: String] = [:]) throws {
        let tensors = model.namedParameters.map { name, t in (name.hasPrefix("lm_head") ? name : "transformer." + name, t) }
        try write(config: model.config, tensors: tensors, to: directory, metadata: metadata)
    }

    static func write(config: GPTConfig, tensors: [(String, Tensor)], to directory: String, metadata: [String: String]) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(config).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(configFile)), options: .atomic)
        try Safetensors.write(tensors, metadata: metadata.merging(["format": "pt"]) { a, _ in a },
                              to: (directory as NSString).appendingPathComponent(weightsFile))
    }
}
