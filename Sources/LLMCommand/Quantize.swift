// `llm quantize`: store a model's weights in 16 or 8 bits — a Hugging Face directory (f16/bf16
// safetensors, which `transformers` loads) or a GGUF file (f32/f16/bf16/q8_0) that llama.cpp runs.

import ArgumentParser
import Formats
import Foundation
import Inference
import Tokenizers

struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a model's weights to f16, bf16 or q8_0 (a model directory, or a GGUF file for llama.cpp).",
        discussion: """
            OUT ending in .gguf: a GGUF v3 file with llama.cpp's names (gpt2, llama, qwen3) and the tokenizer (any --type). Otherwise a \
            model directory in Hugging Face's layout with f16 or bf16 safetensors (torch_dtype in config.json). \
            Matrices take --type; layer norms, biases and position embeddings stay fp32.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "f32, f16, bf16 or q8_0 (q8_0: ggml's blocks of 32 int8 values with an fp16 scale; GGUF only).") var type: WeightType
    @Option(help: "The output head's type when it is stored apart, and the token embedding's when tied (default: --type).") var headType: WeightType?
    @Option(name: [.short, .long], help: "Output: a directory, or a file ending in .gguf.") var output: String
    @Option(help: "general.name in the GGUF file (default: the model's file or directory name).") var name: String?

    func validate() throws {
        if !output.hasSuffix(".gguf") {
            guard type == .f16 || type == .bf16 else {
                throw ValidationError("--type \(type.rawValue) needs an output ending in .gguf (model directories hold f16 or bf16)")
            }
            guard headType == nil || headType == type else { throw ValidationError("--head-type applies to GGUF output only") }
        }
    }

    func run() throws {
        guard modelOptions.runsOnInferenceModel else {
            throw CommandError("quantizing needs a GPT-2 style model (learned or sinusoidal positions)")
        }
        let target = URL(fileURLWithPath: output).standardizedFileURL.path
        guard target != URL(fileURLWithPath: modelOptions.model).standardizedFileURL.path else {
            throw CommandError("--output must differ from --model")
        }
        try requireWritableParent(of: output)
        let (model, encoding) = try modelOptions.loadInference()
        let converted = try model.converted(to: type, headType: headType)
        if output.hasSuffix(".gguf") {
            var bar = ProgressBar(total: 1, label: "writing")
            let title = name ?? URL(fileURLWithPath: modelOptions.model).deletingPathExtension().lastPathComponent
            try converted.writeGGUF(to: output, encoding: encoding, name: title) { done, total in
                bar = done == 1 ? ProgressBar(total: total, label: "tensors") : bar
                bar.update(done)
            }
        } else {
            try converted.writeDirectory(output, type: type)
            if !modelOptions.model.hasSuffix(".gguf") { // the tokenizer files travel with the weights
                for file in ["vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "generation_config.json"] {
                    let source = (modelOptions.model as NSString).appendingPathComponent(file)
                    let destination = (output as NSString).appendingPathComponent(file)
                    if FileManager.default.fileExists(atPath: source) {
                        try? FileManager.default.removeItem(atPath: destination)
                        try FileManager.default.copyItem(atPath: source, toPath: destination)
                    }
                }
            }
        }
        let before = Double(model.weightBytes) / 1e6, after = Double(converted.weightBytes) / 1e6
        printError(String(format: "wrote %@: %@ weights, %.1f MB (from %.1f MB)", output, converted.typeDescription, after, before))
    }
}

/// Fails with one line unless the folder that will hold `path` exists (or can be made) and is writable.
func requireWritableParent(of path: String) throws {
    let parent = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory) else {
        throw CommandError("\(path): the folder \(parent) does not exist")
    }
    guard isDirectory.boolValue else { throw CommandError("\(path): \(parent) is a file, not a folder") }
    guard FileManager.default.isWritableFile(atPath: parent) else { throw CommandError("\(path): cannot write in \(parent)") }
}
