// A trained encoder-decoder on disk: config.json (the architecture, "RNNEncoderDecoder" or
// "TransformerEncoderDecoder", and its sizes), model.safetensors (the parameters under the names of the model's
// modules: encoder.weight_ih_l0, attention.query.weight, decoder.layers.0.cross_attn.query.weight, …) and the two
// vocabularies, one word a line (source_vocab.txt, target_vocab.txt). Written atomically, file by file.

import Foundation
import Models
import NN
import Tensors

public enum Seq2SeqDirectory {
    struct Stored<Config: Codable>: Codable {
        let architecture: String
        let config: Config
    }
    struct Architecture: Codable { let architecture: String }

    public static func save(_ model: any EncoderDecoder, sourceWords: [String], targetWords: [String], to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let config: Data
        switch model {
        case let rnn as RNNEncoderDecoder: config = try encoder.encode(Stored(architecture: "RNNEncoderDecoder", config: rnn.config))
        case let transformer as TransformerEncoderDecoder:
            config = try encoder.encode(Stored(architecture: "TransformerEncoderDecoder", config: transformer.config))
        default: preconditionFailure("no stored form for \(type(of: model))")
        }
        try config.write(to: URL(fileURLWithPath: directory + "/config.json"), options: .atomic)
        try Safetensors.write(model.namedParameters, metadata: ["format": "llm-seq2seq"], to: directory + "/" + Checkpoint.weightsFile)
        for (name, words) in [("source_vocab.txt", sourceWords), ("target_vocab.txt", targetWords)] {
            try Data((words.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/" + name), options: .atomic)
        }
    }

    /// The model (in evaluation mode) and its source and target vocabularies.
    public static func load(_ directory: String) throws -> (model: any EncoderDecoder, sourceWords: [String], targetWords: [String]) {
        guard let data = FileManager.default.contents(atPath: directory + "/config.json") else {
            throw GPTError(description: "\(directory): no config.json (not a model directory)")
        }
        let notOurs = GPTError(description: "\(directory)/config.json: not an encoder-decoder made by llm seq2seq train")
        guard let kind = try? JSONDecoder().decode(Architecture.self, from: data) else { throw notOurs }
        let model: any EncoderDecoder, vocabularies: (source: Int, target: Int)
        switch kind.architecture {
        case "RNNEncoderDecoder":
            guard let config = try? JSONDecoder().decode(Stored<RNNEncoderDecoder.Config>.self, from: data).config else { throw notOurs }
            guard RNN.Cell(rawValue: config.cell) != nil else { throw GPTError(description: "\(directory)/config.json: unknown cell \(config.cell)") }
            (model, vocabularies) = (RNNEncoderDecoder(config), (config.sourceVocabulary, config.targetVocabulary))
        case "TransformerEncoderDecoder":
            guard let config = try? JSONDecoder().decode(Stored<TransformerEncoderDecoder.Config>.self, from: data).config else { throw notOurs }
            if let problem = config.problem { throw GPTError(description: "\(directory)/config.json: \(problem)") }
            (model, vocabularies) = (TransformerEncoderDecoder(config), (config.sourceVocabulary, config.targetVocabulary))
        default: throw notOurs
        }
        func words(_ name: String) throws -> [String] {
            guard let text = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8) else {
                throw GPTError(description: "\(directory): no \(name)")
            }
            return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        }
        let (source, target) = (try words("source_vocab.txt"), try words("target_vocab.txt"))
        guard source.count == vocabularies.source, target.count == vocabularies.target else {
            throw GPTError(description: "\(directory): the vocabularies (\(source.count), \(target.count) words) do not match config.json's (\(vocabularies.source), \(vocabularies.target))")
        }
        let file = try Safetensors.read(directory + "/" + Checkpoint.weightsFile)
        try Checkpoint.fill(model.namedParameters, from: file, path: directory + "/" + Checkpoint.weightsFile)
        model.eval()
        return (model, source, target)
    }
}
