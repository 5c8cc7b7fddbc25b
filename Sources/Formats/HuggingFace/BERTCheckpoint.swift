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

    /// The encoder of a BERT directory (the heads of BertForMaskedLM and the like are left in the file). `pooler`:
    /// nil keeps the directory's pooler if it has one; true gives a directory saved without one (BertForMaskedLM) a
    /// fresh one, seeded, as transformers gives a classifier made from it; false leaves any pooler out (a
    /// mean-pooled classifier has none). `dropout` replaces the configuration's rates.
    public static func load(_ directory: String, pooler: Bool? = nil, seed: UInt64 = 0, dropout: Float? = nil) throws -> BERTModel {
        var config = try readConfig(directory)
        if let p = dropout { (config.hiddenDropout, config.attentionDropout) = (p, p) }
        let (files, path) = try Checkpoint.readWeights(directory)
        let hasPooler = files.contains { $0.entries.keys.contains { normalized($0) == "pooler.dense.weight" } }
        let model = try BERTModel(config, seed: seed, pooler: pooler ?? hasPooler)
        let stored = hasPooler ? model.namedParameters : model.namedParameters.filter { !$0.0.hasPrefix("pooler.") }
        try fill(stored, from: files, path: path)
        model.eval()
        return model
    }

    /// A BertForSequenceClassification directory (ours or transformers'): the encoder, its pooler, the classifier
    /// head and the labels of config.json's id2label.
    public static func loadClassifier(_ directory: String) throws -> BERTForSequenceClassification {
        let labels = try classifierLabels(directory)
        let (files, path) = try Checkpoint.readWeights(directory)
        guard files.contains(where: { $0.entries["classifier.weight"] != nil }) else {
            throw GPTError(description: "\(path): no classifier.weight: not a BertForSequenceClassification")
        }
        let pooling = try classifierPooling(directory)
        let bert = try BERTModel(try readConfig(directory), pooler: pooling == .cls)
        let model = BERTForSequenceClassification(bert: bert, labels: labels, pooling: pooling)
        try fill(model.namedParameters, from: files, path: path)
        model.eval()
        return model
    }

    /// How a classifier directory pools its tokens: config.json's "classifier_pooling" (ours; "mean"), else transformers'
    /// pooled [CLS].
    static func classifierPooling(_ directory: String) throws -> BERTForSequenceClassification.Pooling {
        let path = (directory as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: path), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let name = object["classifier_pooling"] else { return .cls }
        guard let text = name as? String, let pooling = BERTForSequenceClassification.Pooling(rawValue: text) else {
            throw GPTError(description: "\(path): classifier_pooling \(name) is neither cls nor mean")
        }
        return pooling
    }

    /// config.json's id2label in id order, when it is a classifier's (at least two labels).
    static func classifierLabels(_ directory: String) throws -> [String] {
        let path = (directory as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let id2label = object["id2label"] as? [String: String], id2label.count >= 2 else {
            throw GPTError(description: "\(path): not a classifier (no id2label with two labels or more); make one with llm finetune classify")
        }
        return try (0..<id2label.count).map { i in
            guard let label = id2label["\(i)"] else { throw GPTError(description: "\(path): id2label has no id \(i)") }
            return label
        }
    }

    /// Writes a BertForSequenceClassification directory transformers loads (id2label, label2id, num_labels in
    /// config.json; "bert."/"classifier" names, nn.Linear weights as (out, in)). LoRA adapters must be merged first.
    /// A mean-pooled classifier is written with "classifier_pooling": "mean" and no pooler: transformers' class has
    /// no mean pooling, so it would load the directory with a fresh pooler and say so (not silently classify otherwise).
    public static func save(_ model: BERTForSequenceClassification, to directory: String) throws {
        var extra: [String: Any] = model.pooling == .mean ? ["classifier_pooling": "mean"] : [:]
        extra["id2label"] = Dictionary(uniqueKeysWithValues: model.labels.enumerated().map { ("\($0.offset)", $0.element) })
        extra["label2id"] = Dictionary(uniqueKeysWithValues: model.labels.enumerated().map { ($0.element, $0.offset) })
        try write(model, config: model.config, extra: extra, to: directory)
    }

    /// A BertForMaskedLM directory: the encoder and its masked-LM head (the decoder tied to the word embeddings).
    /// `dropout` replaces the configuration's rates (as in `load`).
    public static func loadMaskedLM(_ directory: String, dropout: Float? = nil) throws -> BERTForMaskedLM {
        var config = try readConfig(directory)
        if let p = dropout { (config.hiddenDropout, config.attentionDropout) = (p, p) }
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
        try write(model, config: config, extra: ["tie_word_embeddings": true], to: directory)
    }

    /// config.json (BertConfig's keys, model_type "bert", plus `extra`) and model.safetensors of `model`'s parameters.
    static func write(_ model: Module, config: BERTConfig, extra: [String: Any], to directory: String) throws {
        precondition(!model.namedParameters.contains { $0.0.contains(".lora") }, "merge the LoRA adapters before saving a model directory")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any] ?? [:]
        object["model_type"] = "bert"
        object.merge(extra) { $1 }
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
        try fill(module.namedParameters, from: files, path: path)
    }

    static func fill(_ parameters: [(String, Tensor)], from files: [Safetensors.File], path: String) throws {
        let transposed = Set(parameters.filter { storedTransposed($0.0, $0.1) }.map(\.0))
        try Checkpoint.fill(parameters, from: files, path: path, transposedNames: transposed, bare: normalized)
    }
}
