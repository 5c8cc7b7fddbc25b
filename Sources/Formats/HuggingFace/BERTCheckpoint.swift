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
        let hasPooler = files.contains { $0.entries.keys.contains { normalized($0) == "pooler.dense.weight" } }
        let model = try BERTModel(config, pooler: hasPooler)
        try fill(model, from: files, path: path)
        model.eval()
        return model
    }

    /// A BertForMaskedLM directory: the encoder and its masked-LM head (the decoder tied to the word embeddings).
    public static func loadMaskedLM(_ directory: String) throws -> BERTForMaskedLM {
        let config = try readConfig(directory)
        let (files, path) = try Checkpoint.readWeights(directory)
        guard files.contains(where: { $0.entries["cls.predictions.transform.dense.weight"] != nil }) else {
            throw GPTError(description: "\(path): no masked-LM head (cls.predictions.*): this BERT was saved without one (BertModel, or a classifier)")
        }
        let model = try BERTForMaskedLM(config)
        try fill(model, from: files, path: path)
        model.eval()
        return model
    }

    /// Whether `directory` holds a BERT: config.json's model_type is "bert", or, in configs older than model_type
    /// (Google's bert_config.json), it has BERT's type_vocab_size.
    public static func isBERT(_ directory: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent("config.json")),
              let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        guard let type = config["model_type"] as? String else { return config["type_vocab_size"] != nil }
        return type == "bert"
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
        let tensors = model.namedParameters.map { name, t in (name, storedTransposed(name, t) ? Autograd.withNoGrad { t.transposed() } : t) }
        try Safetensors.write(tensors, metadata: ["format": "pt"],
                              to: (directory as NSString).appendingPathComponent(Checkpoint.weightsFile))
    }

    /// A tensor's name without the "bert." prefix, and LayerNorm's weight and bias under today's names.
    static func normalized(_ name: String) -> String {
        var name = name.hasPrefix("bert.") ? String(name.dropFirst(5)) : name
        if name.hasSuffix("LayerNorm.gamma") { name = String(name.dropLast(5)) + "weight" }
        if name.hasSuffix("LayerNorm.beta") { name = String(name.dropLast(4)) + "bias" }
        return name
    }

    /// Whether a parameter is an nn.Linear weight, stored (out, in) in the file.
    static func storedTransposed(_ name: String, _ t: Tensor) -> Bool { t.rank == 2 && !normalized(name).hasPrefix("embeddings.") }

    /// Points every parameter of `module` at its stored tensor (Checkpoint.fill, names compared `normalized`);
    /// nn.Linear weights (every 2-D tensor but the embeddings) are transposed into our (in, out) layout.
    static func fill(_ module: Module, from files: [Safetensors.File], path: String) throws {
        let parameters = module.namedParameters
        let transposed = Set(parameters.filter { storedTransposed($0.0, $0.1) }.map(\.0))
        try Checkpoint.fill(parameters, from: files, path: path, transposedNames: transposed, bare: normalized)
    }
}
