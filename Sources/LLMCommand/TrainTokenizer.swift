// `llm train-tokenizer`: learn a byte-level BPE vocabulary from text files and write it as a
// .tiktoken file (which tiktoken itself loads) plus a .json sidecar with the special tokens; with --wordpiece, a
// WordPiece vocabulary (BERT's) written as a vocab.txt.

import ArgumentParser
import Foundation
import Tokenizers

struct TrainTokenizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a byte-level BPE tokenizer (GPT-2 pre-tokenization), or a WordPiece one (BERT's), on text files.",
        discussion: """
            --wordpiece learns BERT's kind of vocabulary (merges over characters, continuations marked ##; [PAD] [UNK] \
            [CLS] [SEP] [MASK] first) and writes it as a vocab.txt, which llm train --tokenizer and transformers' \
            BertTokenizer read.
            """)

    @Option(help: "Vocabulary size, the 256 single bytes included (special tokens come on top); with --wordpiece, every token included.")
    var vocabSize: Int
    @Flag(help: "Learn a WordPiece vocabulary (BERT's) and write it as a vocab.txt (--output ending in .txt).") var wordpiece = false
    @Flag(help: "With --wordpiece: keep case and accents (a cased vocabulary).") var cased = false
    @Option(parsing: .upToNextOption, help: "Special tokens to add after the learned ones, e.g. <|endoftext|>.")
    var special: [String] = []
    @Option(name: .shortAndLong, help: "Where to write the .tiktoken file (a PATH.json sidecar is written beside it).")
    var output: String
    @Argument(help: "Text files to learn from.") var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one text file to learn from") }
        if wordpiece {
            guard vocabSize >= 16 else { throw ValidationError("--vocab-size must be at least 16 for a WordPiece vocabulary, got \(vocabSize)") }
            guard output.hasSuffix(".txt") else { throw ValidationError("--output must end in .txt (a vocab.txt) with --wordpiece, got \(output)") }
            guard special.isEmpty else { throw ValidationError("--special is for BPE; a WordPiece vocabulary has BERT's [PAD] [UNK] [CLS] [SEP] [MASK]") }
            return
        }
        guard !cased else { throw ValidationError("--cased is for --wordpiece (byte-level BPE keeps every byte)") }
        guard vocabSize >= 256 else {
            throw ValidationError("--vocab-size must be at least 256 (every byte is a token), got \(vocabSize)")
        }
        guard output.hasSuffix(".tiktoken") else { throw ValidationError("--output must end in .tiktoken, got \(output)") }
        guard Set(special).count == special.count, !special.contains(where: \.isEmpty) else {
            throw ValidationError("--special tokens must be distinct and non-empty")
        }
    }

    func run() throws {
        let texts = try files.map(Input.text)
        if wordpiece { return try runWordPiece(texts) }
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

    func runWordPiece(_ texts: [String]) throws {
        printError("learning a WordPiece vocabulary of \(vocabSize) tokens from \(texts.reduce(0) { $0 + $1.utf8.count }.formatted()) bytes")
        var bar = ProgressBar(total: vocabSize, label: "tokens")
        let start = Date()
        let tokenizer = try WordPieceTrainer.train(texts: texts, vocabularySize: vocabSize, normalizer: BertNormalizer(lowercase: !cased)) { done, total in
            if done % 100 == 0 || done == total { bar.update(done) }
        }
        try tokenizer.write(vocabTxt: output)
        let sample = String(texts[0].prefix(100_000))
        let words = BertNormalizer.words(tokenizer.normalizer.normalize(sample)).count
        printError(String(format: "learned %d tokens in %.1f s%@; %.2f pieces per word on the first file\nwrote %@", tokenizer.vocabularySize,
                          Date().timeIntervalSince(start), tokenizer.vocabularySize < vocabSize ? " (the text had no more pairs to merge)" : "",
                          Double(tokenizer.encode(sample).count) / Double(max(words, 1)), output))
    }
}
