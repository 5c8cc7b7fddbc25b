// What a fine-tuning checkpoint holds. A fine-tuning run starts from a pretrained model that it never
// changes (frozen blocks) plus what it trains: the new classification head and the last blocks, or the
// LoRA adapters. So a checkpoint is only the trainable part — a few MB where the model is hundreds —
// with AdamW's moments for it and the trainer's progress:
//   trainable.safetensors   param.NAME, m.NAME, v.NAME (and best.NAME: the best epoch's weights, when kept)
//   trainer_state.json      step, examples seen, history, ... (each trainer's own fields)
// Resuming rebuilds the model exactly as the run began (same --model, same seed for the new weights)
// and puts these values back. RunCheckpoints makes each set appear whole or not at all.

import Formats
import Foundation
import NN
import Tensors

enum FineTuningCheckpoint {
    static let weightsFile = "trainable.safetensors"
    static let stateFile = "trainer_state.json"

    /// The trainable parameters by name, in the optimizer's order (it was built from `trainableParameters`).
    static func trainable(_ model: Module) -> [(String, Tensor)] { model.namedParameters.filter { $0.1.requiresGrad } }

    static func save(model: Module, optimizer: AdamW, best: [[Float]]?, state: some Encodable, to directory: String) throws {
        let named = trainable(model), moments = optimizer.state
        var tensors: [(String, Tensor)] = []
        for (i, (name, p)) in named.enumerated() {
            tensors += [("param." + name, Tensor(p.scalars, shape: p.shape)),
                        ("m." + name, Tensor(moments.first[i], shape: p.shape)), ("v." + name, Tensor(moments.second[i], shape: p.shape))]
            if let best { tensors.append(("best." + name, Tensor(best[i], shape: p.shape))) }
        }
        try Safetensors.write(tensors, metadata: ["step": "\(moments.step)"], to: directory + "/" + weightsFile)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(state).write(to: URL(fileURLWithPath: directory + "/" + stateFile), options: .atomic)
    }

    /// Puts the saved trainable weights and optimizer state back; returns the trainer state and the best
    /// epoch's weights (when saved).
    static func load<State: Decodable>(_ type: State.Type, model: Module, optimizer: AdamW, from directory: String) throws -> (State, [[Float]]?) {
        guard let data = FileManager.default.contents(atPath: directory + "/" + stateFile),
              let state = try? JSONDecoder().decode(State.self, from: data) else {
            throw DatasetError(description: "\(directory)/\(stateFile) is missing or unreadable: not a fine-tuning checkpoint")
        }
        let file = try Safetensors.read(directory + "/" + weightsFile)
        let named = trainable(model)
        guard Set(file.entries.keys.filter { $0.hasPrefix("param.") }) == Set(named.map { "param." + $0.0 }) else {
            throw DatasetError(description: "\(directory) trained other parameters than this run does (another --trainable-blocks, --lora-rank or model)")
        }
        var first: [[Float]] = [], second: [[Float]] = [], best: [[Float]] = []
        for (name, p) in named {
            let values = try file.tensor("param." + name)
            guard values.shape == p.shape else { throw DatasetError(description: "\(directory): \(name) has shape \(values.shape), this model \(p.shape)") }
            p.withUnsafeMutableBufferPointer { dst in values.withUnsafeBufferPointer { _ = dst.initialize(from: $0) } }
            first.append(try file.tensor("m." + name).scalars)
            second.append(try file.tensor("v." + name).scalars)
            if file.entries["best." + name] != nil { best.append(try file.tensor("best." + name).scalars) }
        }
        try optimizer.restore(step: Int(file.metadata["step"] ?? "") ?? 0, first: first, second: second)
        return (state, best.count == named.count ? best : nil)
    }
}
