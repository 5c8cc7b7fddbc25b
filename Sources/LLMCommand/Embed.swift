// `llm embed`: sentence embeddings from a sentence-transformers directory (a BERT encoder, its pooling and
// normalisation), one vector per text; --json prints OpenAI's embeddings response.

import ArgumentParser
import Foundation
import Formats
import Models

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Embed texts with a sentence-transformers model (BERT encoder, pooling, normalisation).",
        discussion: """
            --model is a sentence-transformers directory as published (modules.json, 1_Pooling/config.json, \
            sentence_bert_config.json, config.json, model.safetensors, vocab.txt or tokenizer.json). Prints one line \
            per text, its values separated by spaces; --json prints OpenAI's embeddings response \
            ({"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model", "usage"}). \
            Example: llm embed --model all-MiniLM-L6-v2 "A sentence." "Another one."
            """)

    @Option(help: "A sentence-transformers model directory.") var model: String
    @Option(help: "A file of texts, one a line (added after the TEXT arguments).") var file: String?
    @Option(help: "Texts per forward pass (sorted by length, so padding stays small).") var batchSize = 32
    @Flag(help: "Print OpenAI's embeddings response as one JSON line.") var json = false
    @Argument(help: "Texts to embed.") var texts: [String] = []

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard !texts.isEmpty || file != nil else { throw ValidationError("give texts to embed, or --file FILE") }
    }

    func run() throws {
        try requireDirectory(model, flag: "--model")
        var all = texts
        if let file { all += try Input.text(file).split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty } }
        guard !all.isEmpty else { throw CommandError("\(file ?? "the input"): no text to embed") }
        let embedder = try SentenceTransformer(directory: model)
        var bar = ProgressBar(total: all.count, label: "embedding", enabled: all.count > 256)
        let ids = all.map(embedder.tokens) // once, for the vectors and the usage count
        let vectors = embedder.embed(ids: ids, batchSize: batchSize) { bar.update($0, "texts") }
        if json {
            // Written by hand rather than through JSONSerialization (a twelfth of the whole run on 5,574 texts):
            // each float as its shortest decimal that reads back as the same float32, as OpenAI's floats are.
            let tokens = ids.reduce(0) { $0 + $1.count }
            var out = "{\"object\":\"list\",\"data\":["
            for (i, v) in vectors.enumerated() {
                out += (i == 0 ? "" : ",") + "{\"object\":\"embedding\",\"index\":\(i),\"embedding\":["
                out += v.map { $0.isFinite ? "\($0)" : "0" }.joined(separator: ",") + "]}"
                if out.utf8.count > 1 << 20 { FileHandle.standardOutput.write(Data(out.utf8)); out = "" }
            }
            let name = try jsonLine(["model": URL(fileURLWithPath: model).lastPathComponent, "usage": ["prompt_tokens": tokens, "total_tokens": tokens]])
            out += "]," + name.dropFirst() + "\n"
            FileHandle.standardOutput.write(Data(out.utf8))
        } else {
            for v in vectors { print(v.map { "\($0)" }.joined(separator: " ")) }
        }
    }
}
