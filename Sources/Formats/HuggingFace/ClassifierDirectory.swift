// GPTClassifier directories in Hugging Face's GPT2ForSequenceClassification layout (and the Llama / Qwen3
// ...ForSequenceClassification ones): `transformer.*` tensors, a `score.weight` of shape (K, C) without bias
// (nn.Linear's (out, in) layout, so it is transposed on the way in and out), and `id2label` / `pad_token_id`
// in config.json.

import Foundation
import Models
import NN
import Tensors

extension GPTClassifier {
    /// Reads a classifier directory (ours or a `transformers` GPT2/Llama/Qwen3ForSequenceClassification).
    public static func load(_ directory: String) throws -> GPTClassifier {
        let config = try Checkpoint.readConfig(directory)
        guard let labels = config.labels else {
            throw GPTError(description: "\(directory): not a classifier (config.json has no ...ForSequenceClassification id2label); make one with llm finetune classify")
        }
        guard labels.count >= 2 else { throw GPTError(description: "\(directory): a classifier needs at least two labels") }
        let pad = config.padTokenId ?? 50256
        guard pad >= 0 && pad < config.vocabSize else {
            throw GPTError(description: "\(directory): pad_token_id \(pad) is outside the vocabulary (\(config.vocabSize))")
        }
        var backboneConfig = config
        backboneConfig.labels = nil
        backboneConfig.tieWordEmbeddings = true // no language-model head
        let backbone = try Initialization.withoutRandomValues { try GPTModel(backboneConfig) }
        let model = Initialization.withoutRandomValues {
            GPTClassifier(backbone: backbone, labels: labels, padTokenId: pad)
        }
        let path = (directory as NSString).appendingPathComponent(Checkpoint.weightsFile)
        try Checkpoint.fill(model.namedParameters, from: try Safetensors.read(path), path: path,
                            transposedNames: model.fileTransposedNames)
        model.eval()
        return model
    }

    /// Writes config.json (with the labels) and model.safetensors in the layout `transformers` reads.
    /// LoRA adapters must be merged first (`mergeLoRA`).
    public func save(to directory: String, metadata: [String: String] = [:]) throws {
        let transposed = fileTransposedNames
        let tensors = namedParameters.map { name, t in (name, transposed.contains(name) ? Autograd.withNoGrad { t.transposed() } : t) }
        precondition(!tensors.contains { $0.0.contains(".lora") }, "merge the LoRA adapters before saving a model directory")
        try Checkpoint.write(config: config, tensors: tensors, to: directory, metadata: metadata)
    }

    /// Parameters stored as nn.Linear (out, in) in the file: the score head, and the Llama family's projections.
    var fileTransposedNames: Set<String> {
        Set(namedParameters.map(\.0).filter { $0 == "score.weight" || (backbone.config.isLlamaFamily && $0.hasSuffix("_proj.weight")) })
    }
}
