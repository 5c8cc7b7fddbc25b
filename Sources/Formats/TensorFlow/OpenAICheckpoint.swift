// OpenAI's original GPT-2 files, as the book's `gpt_download.py` (chapter 5) leaves them in a directory:
//   hparams.json      {"n_vocab": 50257, "n_ctx": 1024, "n_embd": 768, "n_head": 12, "n_layer": 12}
//   checkpoint        model_checkpoint_path: "model.ckpt"
//   model.ckpt.index, model.ckpt.data-00000-of-00001   (TensorFlowCheckpoint.swift)
//   encoder.json, vocab.bpe                            the tokenizer
// The tensors are named as the book's `load_weights_into_gpt` reads them, and map one to one onto Hugging
// Face's names (both come from OpenAI's code): model/wte → wte, model/wpe → wpe, model/hN/ln_1/{g,b} →
// h.N.ln_1.{weight,bias}, model/hN/attn/c_attn/{w,b} → h.N.attn.c_attn.{weight,bias}, and so on; a Conv1D
// weight is stored [1, in, out], which is our (in, out) layout once the leading 1 is dropped (the book
// transposes because its nn.Linear wants (out, in)). The output head is the token embedding (tied).

import Foundation
import Models
import NN
import Tensors

public enum OpenAICheckpoint {
    public static let hparamsFile = "hparams.json"

    /// Whether `directory` looks like OpenAI's download (hparams.json and a checkpoint, no config.json).
    public static func isCheckpointDirectory(_ directory: String) -> Bool {
        let fm = FileManager.default
        func has(_ name: String) -> Bool { fm.fileExists(atPath: (directory as NSString).appendingPathComponent(name)) }
        return has(hparamsFile) && (has("checkpoint") || has("model.ckpt.index")) && !has(Checkpoint.configFile)
    }

    /// The architecture from hparams.json.
    public static func readConfig(_ directory: String) throws -> GPTConfig {
        let path = (directory as NSString).appendingPathComponent(hparamsFile)
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw GPTError(description: "\(path): missing or not a JSON object")
        }
        func value(_ key: String) throws -> Int {
            guard let v = object[key] as? Int, v > 0 else { throw GPTError(description: "\(path): \"\(key)\" must be a positive whole number") }
            return v
        }
        var config = GPTConfig(vocabSize: try value("n_vocab"), contextLength: try value("n_ctx"), embeddingSize: try value("n_embd"),
                               layers: try value("n_layer"), heads: try value("n_head"), dropout: 0)
        config.tieWordEmbeddings = true
        do { try config.validate() } catch let error as GPTError { throw GPTError(description: "\(path): \(error.description)") }
        return config
    }

    /// The checkpoint prefix the `checkpoint` file names (relative to the directory; an absolute path that
    /// is not there, as in files copied from another machine, is taken by its last component).
    static func prefix(_ directory: String) -> String {
        let fallback = (directory as NSString).appendingPathComponent("model.ckpt")
        guard let text = try? String(contentsOfFile: (directory as NSString).appendingPathComponent("checkpoint"), encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model_checkpoint_path:") }),
              let first = line.firstIndex(of: "\""), let last = line.lastIndex(of: "\""), first < last else { return fallback }
        let named = String(line[line.index(after: first)..<last])
        if named.hasPrefix("/") && FileManager.default.fileExists(atPath: named + ".index") { return named }
        return (directory as NSString).appendingPathComponent(named.hasPrefix("/") ? (named as NSString).lastPathComponent : named)
    }

    /// Loads the model from OpenAI's files, checking every tensor's name, shape and checksum.
    public static func load(_ directory: String) throws -> GPTModel {
        let config = try readConfig(directory)
        let prefix = prefix(directory)
        let tensors = try TensorFlowCheckpoint.read(prefix: prefix)
        let model = try Initialization.withoutRandomValues { try GPTModel(config) }
        var used = Set<String>()
        for (name, parameter) in model.namedParameters {
            let theirs = try openAIName(name)
            guard let t = tensors[theirs] else { throw GPTError(description: "\(prefix): tensor \(theirs) is missing") }
            let shape = t.shape.first == 1 && t.shape.count == 3 ? Array(t.shape.dropFirst()) : t.shape // Conv1D's [1, in, out]
            guard shape == parameter.shape else {
                throw GPTError(description: "\(prefix): tensor \(theirs) has shape \(t.shape), but hparams.json implies \(parameter.shape)")
            }
            parameter.withUnsafeMutableBufferPointer { _ = $0.initialize(from: t.values) }
            used.insert(theirs)
        }
        let unknown = tensors.keys.filter { !used.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw GPTError(description: "\(prefix): tensors this GPT-2 does not have: \(unknown.prefix(5).joined(separator: ", "))")
        }
        model.eval()
        return model
    }

    /// Our (Hugging Face's) parameter name as OpenAI's checkpoint spells it.
    static func openAIName(_ name: String) throws -> String {
        var parts = name.split(separator: ".").map(String.init)
        guard parts.count >= 2 else { throw GPTError(description: "no OpenAI name for \(name)") }
        if parts[0] == "h", parts.count >= 3 { parts.replaceSubrange(0...1, with: ["h" + parts[1]]) }
        let last = parts.removeLast()
        let isNorm = parts.last.map { $0.hasPrefix("ln_") } ?? false
        switch (last, isNorm) {
        case ("weight", true): parts.append("g")
        case ("bias", true): parts.append("b")
        case ("weight", false): if !["wte", "wpe"].contains(parts.last ?? "") { parts.append("w") }
        case ("bias", false): parts.append("b")
        default: throw GPTError(description: "no OpenAI name for \(name)")
        }
        return "model/" + parts.joined(separator: "/")
    }
}
