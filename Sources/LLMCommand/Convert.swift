// `llm convert --from openai DIR --output MODEL_DIR`: OpenAI's original GPT-2 download (the files the
// book's gpt_download.py fetches: hparams.json, model.ckpt.*, encoder.json, vocab.bpe) rewritten as a
// Hugging Face model directory (config.json, model.safetensors, vocab.json, merges.txt), which every
// command, `transformers` and our server read. (Every command also reads OpenAI's directory directly.)

import ArgumentParser
import Formats
import Foundation
import Tokenizers

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert OpenAI's original GPT-2 checkpoint (TensorFlow) into a model directory.",
        discussion: """
            DIR holds what the book's gpt_download.py downloads (checkpoint, hparams.json, encoder.json, vocab.bpe, \
            model.ckpt.index, model.ckpt.data-00000-of-00001). Every tensor's checksum is verified. \
            Example: llm convert --from openai gpt2/124M --output gpt2-124m
            """)

    @Option(help: "The format of the input: openai (TensorFlow checkpoint, as OpenAI published GPT-2).") var from = "openai"
    @Argument(help: "The directory to read.") var directory: String
    @Option(help: "The model directory to write.") var output: String

    func validate() throws {
        guard from == "openai" else { throw ValidationError("--from takes openai (OpenAI's TensorFlow checkpoint)") }
    }

    func run() throws {
        try requireDirectory(directory, flag: "the input")
        guard OpenAICheckpoint.isCheckpointDirectory(directory) else {
            throw CommandError("\(directory) is not OpenAI's GPT-2 download (hparams.json and model.ckpt.index, no config.json)")
        }
        try OutputDirectory.prepare(output, inputs: [directory])
        let start = Date()
        let model = try OpenAICheckpoint.load(directory)
        _ = try tokenizer(for: model.config, directory: directory) // the tokenizer files must load and fit the vocabulary
        try Checkpoint.save(model, to: output, metadata: ["converted_from": "openai-tensorflow"])
        // The tokenizer under Hugging Face's names (the same two formats as OpenAI's encoder.json and vocab.bpe).
        let fm = FileManager.default
        for (theirs, ours) in [("encoder.json", "vocab.json"), ("vocab.bpe", "merges.txt")] {
            let source = (directory as NSString).appendingPathComponent(theirs), target = (output as NSString).appendingPathComponent(ours)
            guard fm.fileExists(atPath: source) else { continue }
            try? fm.removeItem(atPath: target)
            try fm.copyItem(atPath: source, toPath: target)
        }
        printError(String(format: "converted %@ (%@ parameters, %d layers, vocabulary %d, tokenizer %@) into %@ in %.1f s",
                          directory, model.parameterCount.formatted(), model.config.layers, model.config.vocabSize,
                          fm.fileExists(atPath: output + "/vocab.json") ? "encoder.json + vocab.bpe" : "the embedded gpt2",
                          output, Date().timeIntervalSince(start)))
    }
}
