// A trained encoder-decoder on disk: config.json (the architecture and its sizes), model.safetensors (the
// parameters under the names of RNNEncoderDecoder's modules: encoder.weight_ih_l0, attention.query.weight, …) and
// the two vocabularies, one word a line (source_vocab.txt, target_vocab.txt). Written atomically, file by file.

import Foundation
import Models
import NN
import Tensors

public enum Seq2SeqDirectory {
    public static let architecture = "RNNEncoderDecoder"

    struct Stored: Codable {
        let architecture: String
        let config: RNNEncoderDecoder.Config
    }

    public static func save(_ model: RNNEncoderDecoder, sourceWords: [String], targetWords: [String], to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(Stored(architecture: architecture, config: model.config)).write(to: URL(fileURLWithPath: directory + "/config.json"), options: .atomic)
        try Safetensors.write(model.namedParameters, metadata: ["format": "llm-seq2seq"], to: directory + "/" + Checkpoint.weightsFile)
        for (name, words) in [("source_vocab.txt", sourceWords), ("target_vocab.txt", targetWords)] {
            try Data((words.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/" + name), options: .atomic)
        }
    }

    /// The model (in evaluation mode) and its source and target vocabularies.
    public static func load(_ directory: String) throws -> (model: RNNEncoderDecoder, sourceWords: [String], targetWords: [String]) {
        guard let data = FileManager.default.contents(atPath: directory + "/config.json") else {
            throw GPTError(description: "\(directory): no config.json (not a model directory)")
        }
        guard let stored = try? JSONDecoder().decode(Stored.self, from: data), stored.architecture == architecture else {
            throw GPTError(description: "\(directory)/config.json: not an encoder-decoder made by llm seq2seq train")
        }
        guard RNN.Cell(rawValue: stored.config.cell) != nil else { throw GPTError(description: "\(directory)/config.json: unknown cell \(stored.config.cell)") }
        func words(_ name: String) throws -> [String] {
            guard let text = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8) else {
                throw GPTError(description: "\(directory): no \(name)")
            }
            return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        }
        let (source, target) = (try words("source_vocab.txt"), try words("target_vocab.txt"))
        guard source.count == stored.config.sourceVocabulary, target.count == stored.config.targetVocabulary else {
            throw GPTError(description: "\(directory): the vocabularies (\(source.count), \(target.count) words) do not match config.json's (\(stored.config.sourceVocabulary), \(stored.config.targetVocabulary))")
        }
        let model = RNNEncoderDecoder(stored.config)
        let file = try Safetensors.read(directory + "/" + Checkpoint.weightsFile)
        try Checkpoint.fill(model.namedParameters, from: file, path: directory + "/" + Checkpoint.weightsFile)
        model.eval()
        return (model, source, target)
    }
}
