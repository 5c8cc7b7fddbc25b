// BERT model directories as Hugging Face writes them: config.json (BertConfig's keys) and model.safetensors
// (or shards), from BertModel (unprefixed names), BertForMaskedLM / BertForSequenceClassification ("bert."
// prefix) or older checkpoints (LayerNorm.gamma / .beta). nn.Linear stores (out, in); ours is (in, out), so
// those weights are transposed on the way in.

import Foundation
import Models
import NN
import Tensors

public enum BERTCheckpoint {
    public static func readConfig(_ directory: String) throws -> BERTConfig {
        let path = (directory as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: path) else { throw GPTError(description: "\(path): cannot read it") }
        let config: BERTConfig
        do { config = try JSONDecoder().decode(BERTConfig.self, from: data) } catch {
            throw GPTError(description: "\(path): not a BertConfig (\(error.localizedDescription))")
        }
        if let problem = config.problem { throw GPTError(description: "\(path): \(problem)") }
        return config
    }

    /// The encoder of a BERT directory (the heads of BertForMaskedLM and the like are left in the file).
    public static func load(_ directory: String) throws -> BERTModel {
        let config = try readConfig(directory)
        let (files, path) = try Checkpoint.readWeights(directory)
        let stored = storedNames(files)
        let model = try BERTModel(config, pooler: stored["pooler.dense.weight"] != nil)
        try fill(model, from: stored, path: path)
        model.eval()
        return model
    }

    /// A BertForMaskedLM directory: the encoder and its masked-LM head (the decoder tied to the word embeddings).
    public static func loadMaskedLM(_ directory: String) throws -> BERTForMaskedLM {
        let config = try readConfig(directory)
        let (files, path) = try Checkpoint.readWeights(directory)
        let stored = storedNames(files)
        guard stored["cls.predictions.transform.dense.weight"] != nil else {
            throw GPTError(description: "\(path): no masked-LM head (cls.predictions.*): this BERT was saved without one (BertModel, or a classifier)")
        }
        let model = try BERTForMaskedLM(config)
        try fill(model, from: stored, path: path)
        model.eval()
        return model
    }

    /// Writes a BertForMaskedLM directory transformers loads: config.json (BertConfig's keys, model_type "bert",
    /// architectures ["BertForMaskedLM"]) and model.safetensors under its names ("bert." prefix, nn.Linear weights
    /// as (out, in); the decoder is tied to the word embeddings, so not stored). Tokenizer files are the caller's.
    public static func save(_ model: BERTForMaskedLM, to directory: String) throws {
        var config = model.config
        config.architectures = ["BertForMaskedLM"]
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any] ?? [:]
        object["model_type"] = "bert"
        object["tie_word_embeddings"] = true
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("config.json")), options: .atomic)
        let tensors = model.namedParameters.map { name, t -> (String, Tensor) in
            let transposed = t.rank == 2 && !name.hasPrefix("bert.embeddings.")
            return (name, transposed ? Autograd.withNoGrad { t.transposed() } : t)
        }
        try Safetensors.write(tensors, metadata: ["format": "pt"],
                              to: (directory as NSString).appendingPathComponent(Checkpoint.weightsFile))
    }

    /// Our name for each stored tensor: no "bert." prefix, LayerNorm's weight and bias under today's names.
    static func storedNames(_ files: [Safetensors.File]) -> [String: (String, Safetensors.File)] {
        var byName: [String: (String, Safetensors.File)] = [:]
        for file in files {
            for stored in file.entries.keys {
                byName[normalized(stored)] = (stored, file)
            }
        }
        return byName
    }

    static func normalized(_ name: String) -> String {
        var name = name.hasPrefix("bert.") ? String(name.dropFirst(5)) : name
        if name.hasSuffix("LayerNorm.gamma") { name = String(name.dropLast(5)) + "weight" }
        if name.hasSuffix("LayerNorm.beta") { name = String(name.dropLast(4)) + "bias" }
        return name
    }

    /// Points every parameter of `module` at its stored tensor; nn.Linear weights (every 2-D tensor but the
    /// embeddings) are transposed into our (in, out) layout.
    static func fill(_ module: Module, from byName: [String: (String, Safetensors.File)], path: String) throws {
        var missing: [String] = []
        for (ours, parameter) in module.namedParameters {
            let name = normalized(ours)
            guard let (stored, file) = byName[name], let entry = file.entries[stored] else { missing.append(name); continue }
            let transposed = parameter.rank == 2 && !name.hasPrefix("embeddings.")
            let expected = transposed ? parameter.shape.reversed() : parameter.shape
            guard entry.shape == expected else {
                throw GPTError(description: "\(path): tensor \(stored) has shape \(entry.shape), but config.json implies \(expected)")
            }
            let tensor = try file.tensor(stored)
            if transposed {
                let values = tensor.transposed().scalars
                parameter.withUnsafeMutableBufferPointer { _ = $0.initialize(from: values) }
            } else {
                parameter.shareStorage(with: tensor)
            }
        }
        guard missing.isEmpty else {
            throw GPTError(description: "\(path): \(missing.count) tensor(s) missing: \(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? ", …" : "")")
        }
    }
}
