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

    /// Loads a model directory (ours or one `transformers` wrote).
    public static func load(_ directory: String) throws -> GPTModel {
        let config = try readConfig(directory)
        let model = try Initialization.withoutRandomValues { try GPTModel(config) } // weights come from the file
        let path = (directory as NSString).appendingPathComponent(weightsFile)
        let file = try Safetensors.read(path)
        var byName: [String: String] = [:] // our name → name in the file
        for name in file.entries.keys {
            byName[name.hasPrefix("transformer.") ? String(name.dropFirst("transformer.".count)) : name] = name
        }
        var missing: [String] = []
        for (name, parameter) in model.namedParameters {
            guard let stored = byName[name], let entry = file.entries[stored] else {
                missing.append(name)
                continue
            }
            guard entry.shape == parameter.shape else {
                throw GPTError(description: "\(path): tensor \(stored) has shape \(entry.shape), but config.json implies \(parameter.shape)")
            }
            parameter.shareStorage(with: try file.tensor(stored))
        }
        guard missing.isEmpty else {
            throw GPTError(description: "\(path): \(missing.count) tensor(s) missing: \(missing.joined(separator: ", "))")
        }
        model.eval()
        return model
    }

    /// Writes `config.json` and `model.safetensors` into `directory` (created if needed), each atomically.
    public static func save(_ model: GPTModel, to directory: String, metadata: [String: String] = [:]) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(model.config).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(configFile)), options: .atomic)
        let tensors = model.namedParameters.map { name, t in (name.hasPrefix("lm_head") ? name : "transformer." + name, t) }
        try Safetensors.write(tensors, metadata: metadata.merging(["format": "pt"]) { a, _ in a },
                              to: (directory as NSString).appendingPathComponent(weightsFile))
    }
}
