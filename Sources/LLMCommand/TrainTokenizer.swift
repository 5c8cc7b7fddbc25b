// `llm train-tokenizer`: learn a byte-level BPE vocabulary from text files and write it as a
// .tiktoken file (which tiktoken itself loads) plus a .json sidecar with the special tokens.

import ArgumentParser
import Foundation
import Tokenizers

struct TrainTokenizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a byte-level BPE tokenizer (GPT-2 pre-tokenization) on text files.")

    @Option(help: "Vocabulary size, the 256 single bytes included (special tokens come on top).")
    var vocabSize: Int
    @Option(parsing: .upToNextOption, help: "Special tokens to add after the learned ones, e.g. <|endoftext|>.")
    var special: [String] = []
    @Option(name: .shortAndLong, help: "Where to write the .tiktoken file (a PATH.json sidecar is written beside it).")
    var output: String
    @Argument(help: "Text files to learn from.") var files: [String]

    func validate() throws {
        guard vocabSize >= 256 else {
            throw ValidationError("--vocab-size must be at least 256 (every byte is a token), got \(vocabSize)")
        }
        guard !files.isEmpty else { throw ValidationError("give at least one text file to learn from") }
        guard output.hasSuffix(".tiktoken") else { throw ValidationError("--output must end in .tiktoken, got \(output)") }
        guard Set(special).count == special.count, !special.contains(where: \.isEmpty) else {
            throw ValidationError("--special tokens must be distinct and non-empty")
        }
    }

    func run() throws {
        let texts = try files.map(Input.text)
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        printError("learning \(vocabSize - 256) merges from \(bytes.formatted()) bytes in \(files.count) file(s)")
        var bar = ProgressBar(total: max(vocabSize - 256, 1), label: "merges")
        let start = Date()
        let vocabulary = BPETrainer.train(texts: texts, vocabularySize: vocabSize) { done, _ in
            if done % 50 == 0 || done == vocabSize - 256 { bar.update(done) }
        }
        let encoding = vocabulary.encoding(name: URL(fileURLWithPath: output).deletingPathExtension().lastPathComponent,
                                           specialTokens: special)
        try encoding.write(tiktokenFile: output)
        let sample = texts[0].prefix(100_000)
        let ratio = Double(sample.utf8.count) / Double(max(encoding.encodeOrdinary(String(sample)).count, 1))
        printError("""
            learned \(vocabulary.merges.count) merges in \(String(format: "%.1f", Date().timeIntervalSince(start))) s\
            \(vocabulary.tokens.count < vocabSize ? " (the text had no more pairs to merge)" : ""); \
            \(String(format: "%.2f", ratio)) bytes per token on the first file
            wrote \(output) and \(output).json
            """)
    }
}
