// Loading a model directory and its tokenizer for the commands that take --model.

import ArgumentParser
import Formats
import Foundation
import Hub
import Inference
import Models
import Server
import Tokenizers

struct ModelOptions: ParsableArguments {
    /// --model as a path: a directory or file as given, or, for ORG/NAME that is no path here, the snapshot
    /// `llm download` (or huggingface_hub) left in the Hub's cache.
    static func resolve(_ model: String) throws -> String {
        guard !FileManager.default.fileExists(atPath: model), !model.hasPrefix("/"), !model.hasPrefix("."),
              model.split(separator: "/").count == 2, !model.hasSuffix(".gguf") else { return model }
        let environment = HubEnvironment()
        guard let repository = try? HubRepository(model, cache: environment.cache) else { return model }
        guard let snapshot = repository.cachedSnapshot() else {
            throw CommandError("--model \(model): no such directory, and no download of that Hub repository in \(environment.cache)"
                               + (environment.offline ? " (HF_HUB_OFFLINE is set)" : "; run: llm download \(model)"))
        }
        return snapshot
    }

    @Option(name: .long, help: "Model directory (config.json + model.safetensors or its shards), ours or Hugging Face's (GPT-2, Llama 3, Qwen3), or OpenAI's original GPT-2 download (hparams.json + model.ckpt.*), or ORG/NAME downloaded with llm download; where a command generates or evaluates, also a GPT-2 .gguf file.",
            transform: ModelOptions.resolve)
    var model: String
    @Option(help: "A LoRA adapter directory (the output/adapter of llm finetune instruct --lora-rank) to apply to --model.")
    var adapter: String?

    /// The model and the tokenizer that goes with it: the directory's vocab.json + merges.txt, encoder.json +
    /// vocab.bpe (OpenAI's download) or tokenizer.json if present, else the embedded gpt2 encoding (which
    /// needs a vocabulary of 50,257).
    func load() throws -> (GPTModel, Encoding) {
        try requireDirectory(model, flag: "--model")
        let gpt = try Checkpoint.load(model)
        if let adapter {
            try LoRAAdapter.load(adapter, into: gpt)
            gpt.mergeLoRA()
        }
        return (gpt, try tokenizer(for: gpt.config, directory: model))
    }

    /// The chat template: `name` if given (validated by the caller), else the one the model directory names, else plain.
    func chatTemplate(_ name: String?) -> ChatTemplate {
        name.flatMap(ChatTemplate.init(rawValue:)) ?? (model.hasSuffix(".gguf") ? nil : ChatTemplate.stored(in: model)) ?? .plain
    }

    /// Whether the model runs on InferenceModel (GPT-2's learned or sinusoidal positions, and every GGUF
    /// file); rotary and ALiBi models generate and evaluate through GPTModel.
    var runsOnInferenceModel: Bool {
        model.hasSuffix(".gguf") || (try? Checkpoint.readConfig(model)).map(InferenceModel.supports) ?? true
    }

    /// The model for generating and evaluating: a model directory (fp32, or f16/bf16 kept in 16 bits) or a
    /// GGUF file, with its tokenizer; with `weights`, its matrices converted to that type.
    func loadInference(weights: WeightType? = nil) throws -> (InferenceModel, Encoding) {
        var model: InferenceModel, encoding: Encoding
        if self.model.hasSuffix(".gguf") {
            guard adapter == nil else { throw CommandError("--adapter applies to model directories, not GGUF files") }
            guard FileManager.default.fileExists(atPath: self.model) else { throw CommandError("--model \(self.model): no such file") }
            let (m, e) = try InferenceModel.load(gguf: self.model)
            model = m
            encoding = try e ?? Encoding.named("gpt2")
        } else if adapter == nil {
            try requireDirectory(self.model, flag: "--model")
            model = try InferenceModel.load(self.model).0
            encoding = try tokenizer(for: model.config, directory: self.model)
        } else {
            let (gpt, e) = try load()
            model = try InferenceModel(gpt)
            encoding = e
        }
        if let weights { model = try model.converted(to: weights) }
        return (model, encoding)
    }
}

extension WeightType: ExpressibleByArgument {}
extension BERTForSequenceClassification.Pooling: ExpressibleByArgument {}

/// Fails with "FLAG PATH: no such directory" unless `path` is a directory.
func requireDirectory(_ path: String, flag: String) throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw CommandError("\(flag) \(path): no such directory")
    }
}

/// The file a GPT trained with `llm train --tokenizer FILE.tiktoken` keeps its vocabulary in (with a .json sidecar
/// for its pattern and special tokens): tiktoken's format, as transformers has no byte-level BPE file without merges.
let ownTokenizerFile = "tokenizer.tiktoken"

/// A GPT directory's tokenizer: its own .tiktoken, GPT-2's vocab.json + merges.txt (or OpenAI's names), a
/// tokenizer.json, else gpt2.
func tokenizer(for config: GPTConfig, directory: String) throws -> Encoding {
    let vocab = directory + "/vocab.json", merges = directory + "/merges.txt", tokenizerJSON = directory + "/tokenizer.json"
    let encoder = directory + "/encoder.json", vocabBPE = directory + "/vocab.bpe" // OpenAI's original names
    let encoding: Encoding
    if FileManager.default.fileExists(atPath: directory + "/" + ownTokenizerFile) {
        encoding = try Encoding.load(nameOrPath: directory + "/" + ownTokenizerFile)
    } else if FileManager.default.fileExists(atPath: vocab) && FileManager.default.fileExists(atPath: merges) {
        encoding = try Encoding.gpt2(encoderJSON: vocab, vocabBPE: merges)
    } else if FileManager.default.fileExists(atPath: encoder) && FileManager.default.fileExists(atPath: vocabBPE) {
        encoding = try Encoding.gpt2(encoderJSON: encoder, vocabBPE: vocabBPE)
    } else if FileManager.default.fileExists(atPath: tokenizerJSON) {
        encoding = try Encoding.huggingFace(tokenizerJSON: tokenizerJSON)
    } else {
        encoding = try Encoding.named("gpt2")
    }
    guard encoding.vocabularySize <= config.vocabSize else {
        throw GPTError(description: "\(directory): the tokenizer has \(encoding.vocabularySize) tokens but the model only \(config.vocabSize)")
    }
    return encoding
}

func printError(_ message: String) {
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
}

func jsonLine(_ object: [String: Any]) throws -> String {
    String(data: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), encoding: .utf8)!
}

/// A failure while a command runs (bad file, bad model): printed as one "Error: ..." line, exit 1.
/// (ArgumentParser's ValidationError is for bad flags and also prints the usage.)
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
