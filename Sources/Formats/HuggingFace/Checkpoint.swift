// Model directories in Hugging Face's GPT-2 layout: `config.json` (GPT2Config keys) and
// `model.safetensors` with GPT-2 tensor names (`transformer.wte.weight`, `transformer.h.0.attn.c_attn.weight`,
// ...). Reading accepts names with or without the `transformer.` prefix, treats a missing
// `lm_head.weight` as tied to the token embeddings, and ignores the attention-mask buffers
// (`attn.bias`, `attn.masked_bias`) older checkpoints carry. GPT-2's Conv1D weights are stored
// (in, out), which is our Linear layout, so no weight is transposed.
//
// Llama and Qwen3 directories use those models' names (`model.layers.0.self_attn.q_proj.weight`, ...)
// and nn.Linear's (out, in) layout, so their projection matrices are transposed on the way in and out.
// Large models come in shards: `model.safetensors.index.json` maps each tensor to its file.

import Foundation
import Models
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
        guard let object = try? JSONSerialization.jsonObject(with: data) else { throw GPTError(description: "\(path): not valid JSON") }
        if (object as? [String: Any])?["model_type"] as? String == "bert" {
            throw GPTError(description: "\(directory) is a BERT, an encoder: it fills masks (llm fill-mask), embeds (llm embed) and classifies (llm classify), but does not generate text")
        }
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
        let (files, path) = try readWeights(directory)
        try fill(model.namedParameters, from: files, path: path, transposedNames: linearWeightNames(model))
        model.eval()
        return model
    }

    public static let shardIndexFile = "model.safetensors.index.json"

    /// The weights of a model directory: model.safetensors, or the shards its index names. Returns the
    /// files and the path to name in errors.
    static func readWeights(_ directory: String) throws -> ([Safetensors.File], String) {
        let single = (directory as NSString).appendingPathComponent(weightsFile)
        let index = (directory as NSString).appendingPathComponent(shardIndexFile)
        guard !FileManager.default.fileExists(atPath: single), let data = FileManager.default.contents(atPath: index) else {
            return ([try Safetensors.read(single)], single)
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let map = object["weight_map"] as? [String: String], !map.isEmpty else {
            throw GPTError(description: "\(index): not a shard index (expected {\"weight_map\": {tensor: file}})")
        }
        let shards = Set(map.values).sorted()
        for shard in shards where shard.contains("/") || shard.hasPrefix(".") {
            throw GPTError(description: "\(index): shard \"\(shard)\" is not a file name in the model directory")
        }
        return (try shards.map { try Safetensors.read((directory as NSString).appendingPathComponent($0)) }, index)
    }

    /// Names of the parameters stored as nn.Linear (out, in) in the family's files: Llama's and Qwen3's
    /// projections. GPT-2 stores Conv1D (in, out), our layout.
    static func linearWeightNames(_ model: GPTModel) -> Set<String> {
        guard model.config.isLlamaFamily else { return [] }
        return Set(model.namedParameters.map(\.0).filter { $0.hasSuffix("_proj.weight") })
    }

    /// Points each parameter at the tensor of the same name in `file` (names compared without the
    /// `transformer.` prefix). Names in `transposedNames` are stored transposed in the file (nn.Linear's
    /// (out, in) layout) and are copied instead. Every parameter must be found with a matching shape.
    static func fill(_ parameters: [(String, Tensor)], from file: Safetensors.File, path: String,
                     transposedNames: Set<String> = []) throws {
        try fill(parameters, from: [file], path: path, transposedNames: transposedNames)
    }

    /// `fill` from tensors spread over several files (the shards of one checkpoint). Names are compared after
    /// `bare`, applied to ours and to the file's (by default: without GPT-2's `transformer.` prefix).
    static func fill(_ parameters: [(String, Tensor)], from files: [Safetensors.File], path: String,
                     transposedNames: Set<String> = [], bare: (String) -> String = withoutTransformerPrefix) throws {
        var byName: [String: (String, Safetensors.File)] = [:] // our name → name in the file, and the file
        for file in files { for name in file.entries.keys { byName[bare(name)] = (name, file) } }
        var missing: [String] = []
        for (name, parameter) in parameters {
            guard let (stored, file) = byName[bare(name)], let entry = file.entries[stored] else {
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

    static func withoutTransformerPrefix(_ name: String) -> String {
        name.hasPrefix("transformer.") ? String(name.dropFirst("transformer.".count)) : name
    }

    /// Writes `config.json` and `model.safetensors` into `directory` (created if needed), each atomically.
    public static func save(_ model: GPTModel, to directory: String, metadata: [String: String] = [:]) throws {
        try write(config: model.config, tensors: fileTensors(model), to: directory, metadata: metadata)
    }

    /// The model's parameters under the names and in the layout its family's files use.
    static func fileTensors(_ model: GPTModel) -> [(String, Tensor)] {
        if model.config.isLlamaFamily {
            let transposed = linearWeightNames(model)
            return model.namedParameters.map { name, t in (name, transposed.contains(name) ? t.detached().transposed() : t) }
        }
        return model.namedParameters.map { name, t in (name.hasPrefix("lm_head") ? name : "transformer." + name, t) }
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
