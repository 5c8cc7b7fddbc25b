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
        // Our name for each stored tensor: no "bert." prefix, LayerNorm's weight and bias under today's names.
        var byName: [String: (String, Safetensors.File)] = [:]
        for file in files {
            for stored in file.entries.keys {
                var name = stored.hasPrefix("bert.") ? String(stored.dropFirst(5)) : stored
                if name.hasSuffix("LayerNorm.gamma") { name = String(name.dropLast(5)) + "weight" }
                if name.hasSuffix("LayerNorm.beta") { name = String(name.dropLast(4)) + "bias" }
                byName[name] = (stored, file)
            }
        }
        let model = try BERTModel(config, pooler: byName["pooler.dense.weight"] != nil)
        var missing: [String] = []
        for (name, parameter) in model.namedParameters {
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
        model.eval()
        return model
    }
}
