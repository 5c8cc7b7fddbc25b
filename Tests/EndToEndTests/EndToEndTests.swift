// The built `llm` run as a user runs it: every subcommand's help, thirty-one bad inputs across commands (each one
// clear error line, a non-zero exit, nothing left behind), and the demo's outputs. These check what the unit
// tests cannot: argument parsing, exit codes, what reaches standard error and what is written to disk.

import Foundation
import XCTest

final class EndToEndTests: XCTestCase {
    /// Subcommand names listed under SUBCOMMANDS in a help text.
    private func subcommands(in help: String) -> [String] {
        guard let start = help.range(of: "SUBCOMMANDS:\n") else { return [] }
        return help[start.upperBound...].split(separator: "\n").compactMap { line in
            // "  name   abstract": two spaces, then the name; continuation lines are indented further.
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let name = line.dropFirst(2).split(separator: " ").first else { return nil }
            return name == "See" ? nil : String(name)
        }
    }

    func testEverySubcommandHasHelp() throws {
        let root = try LLMProcess.run(["--help"])
        XCTAssertEqual(root.status, 0)
        var pending = subcommands(in: root.stdout).map { [$0] }
        XCTAssertGreaterThanOrEqual(pending.count, 15, "llm --help lists its subcommands")
        var seen = 0
        while let path = pending.popLast() {
            let run = try LLMProcess.run(path + ["--help"])
            XCTAssertEqual(run.status, 0, "llm \(path.joined(separator: " ")) --help")
            XCTAssertTrue(run.stdout.contains("USAGE: llm \(path.joined(separator: " "))"), "llm \(path.joined(separator: " ")) --help shows its usage")
            XCTAssertTrue(run.stderr.isEmpty, "llm \(path.joined(separator: " ")) --help writes nothing to standard error")
            pending += subcommands(in: run.stdout).map { path + [$0] }
            seen += 1
        }
        XCTAssertGreaterThanOrEqual(seen, 17, "finetune's own subcommands are visited too")
    }

    /// One bad input: the arguments (run in a scratch directory prepared by `setup`) and a phrase the error must
    /// contain.
    private struct BadInput {
        let arguments: [String]
        let expected: String
        var setup: (String) throws -> Void = { _ in }
    }

    func testBadInputsFailWithOneLineAndLeaveNothingBehind() throws {
        let untied = LLMProcess.fixture("tiny-gpt2-untied")
        func copyTruncated(_ source: String, to name: String, bytes: Int) -> (String) throws -> Void {
            { dir in
                let data = try Data(contentsOf: URL(fileURLWithPath: source))
                try data.prefix(bytes).write(to: URL(fileURLWithPath: dir + "/" + name))
            }
        }
        let damagedModel: (String) throws -> Void = { dir in
            try FileManager.default.createDirectory(atPath: dir + "/damaged", withIntermediateDirectories: false)
            try FileManager.default.copyItem(atPath: untied + "/config.json", toPath: dir + "/damaged/config.json")
            try copyTruncated(untied + "/model.safetensors", to: "damaged/model.safetensors", bytes: 1000)(dir)
        }
        let aFile: (String) throws -> Void = { dir in try Data("not a directory\n".utf8).write(to: URL(fileURLWithPath: dir + "/file")) }
        let cases: [BadInput] = [
            BadInput(arguments: ["generate", "--model", "nothere", "--prompt", "hi"], expected: "no such directory"),
            BadInput(arguments: ["generate", "--model", "damaged", "--prompt", "hi"], expected: "runs past the end", setup: damagedModel),
            BadInput(arguments: ["tokenize", "-e", "nope", "-"], expected: "unknown encoding \"nope\""),
            BadInput(arguments: ["generate", "--model", untied, "--prompt", "hi", "--temperature", "abc"], expected: "'abc' is invalid"),
            BadInput(arguments: ["train", "--preset", "nope", "--output", "run", "--max-steps", "1"], expected: "unknown preset \"nope\""),
            BadInput(arguments: ["quantize", "--model", untied, "--type", "q9", "--output", "q.gguf"], expected: "'q9' is invalid"),
            BadInput(arguments: ["quantize", "--model", untied, "--type", "f16", "--output", "file/model"], expected: "is a file, not a folder",
                     setup: aFile),
            BadInput(arguments: ["train", "--output", "file/run", "--max-steps", "1"], expected: "is a file, not a directory", setup: aFile),
            BadInput(arguments: ["detokenize", "ids.txt"], expected: "token id 99999999 is not in the vocabulary",
                     setup: { try Data("1 2 99999999\n".utf8).write(to: URL(fileURLWithPath: $0 + "/ids.txt")) }),
            BadInput(arguments: ["convert", LLMProcess.fixture("openai-tiny-damaged"), "--output", "converted"], expected: "CRC-32C"),
            BadInput(arguments: ["prepare", "--output", "p.tokens", "missing.txt"], expected: "missing.txt: no such file"),
            BadInput(arguments: ["train", "--data", "missing.tokens", "--output", "run", "--max-steps", "1"], expected: "missing.tokens"),
            BadInput(arguments: ["generate", "--model", "cut.gguf", "--prompt", "hi"], expected: "cut.gguf",
                     setup: copyTruncated(LLMProcess.fixture("gguf/tiny-f32.gguf"), to: "cut.gguf", bytes: 2000)),
            BadInput(arguments: ["serve", "--model", untied, "--port", "99999999"], expected: "--port must be from 0 to 65535"),
            BadInput(arguments: ["word2vec", "--data", "few.txt", "--output", "vectors"], expected: "no word occurs at least 5 times",
                     setup: { try Data("a b c\nb c\n".utf8).write(to: URL(fileURLWithPath: $0 + "/few.txt")) }),
            BadInput(arguments: ["word2vec", "--data", "latin1.txt", "--output", "vectors"], expected: "latin1.txt:2: the text is not UTF-8",
                     setup: { try Data([0x61, 0x0A, 0x63, 0x61, 0x66, 0xE9, 0x0A]).write(to: URL(fileURLWithPath: $0 + "/latin1.txt")) }),
            BadInput(arguments: ["word2vec", "similar", "--vectors", "short.txt", "a"], expected: "the header announces 3 words of 2 values",
                     setup: { try Data("3 2\na 0.5 1\n".utf8).write(to: URL(fileURLWithPath: $0 + "/short.txt")) }),
            BadInput(arguments: ["word2vec", "analogy", "--vectors", LLMProcess.fixture("word2vec/gensim-vectors.txt"), "he", "him", "zebra"],
                     expected: "\"zebra\" is not in the vocabulary"),
            BadInput(arguments: ["fill-mask", "--model", LLMProcess.fixture("tiny-bert-mlm"), "no mask here"], expected: "the text has no [MASK] to fill"),
            BadInput(arguments: ["fill-mask", "--model", LLMProcess.fixture("ours-micro"), "a [MASK]"], expected: "no WordPiece tokenizer"),
            BadInput(arguments: ["fill-mask", "--model", LLMProcess.fixture("tiny-bert"), "a [MASK]"], expected: "no masked-LM head"),
            BadInput(arguments: ["train", "--preset", "bert-tiny", "--data", "x.tokens", "--output", "run"], expected: "a BERT trains on text",
                     setup: { try Data([0, 1, 2, 3]).write(to: URL(fileURLWithPath: $0 + "/x.tokens")) }),
            BadInput(arguments: ["train", "--preset", "bert-tiny", "--context-length", "2", "--output", "run"], expected: "--context-length must be in 3...512"),
            BadInput(arguments: ["train", "--tokenizer", LLMProcess.fixture("tiny-bert") + "/vocab.txt", "--output", "run"],
                     expected: "a WordPiece vocabulary is for a BERT"),
            BadInput(arguments: ["generate", "--model", LLMProcess.fixture("tiny-bert"), "--prompt", "hi"], expected: "is a BERT, an encoder"),
            BadInput(arguments: ["classify", "--model", LLMProcess.fixture("tiny-bert-classifier"), "--adapter", "adapter", "hi"],
                     expected: "--adapter is for GPT classifiers"),
            BadInput(arguments: ["seq2seq", "translate", "--model", LLMProcess.fixture("tiny-bert"), "a b"], expected: "not an encoder-decoder"),
            BadInput(arguments: ["seq2seq", "train", "--data", "pairs.tsv", "--output", "m"], expected: "pairs.tsv:2: a line must be a source and a target",
                     setup: { try Data("a b\tc d\nno tab here\n".utf8).write(to: URL(fileURLWithPath: $0 + "/pairs.tsv")) }),
            BadInput(arguments: ["seq2seq", "translate", "--model", LLMProcess.fixture("tiny-transformer-seq2seq"), "  "],
                     expected: "an empty sentence has nothing to translate"),
            BadInput(arguments: ["seq2seq", "translate", "--model", LLMProcess.fixture("tiny-transformer-seq2seq"), "--beam", "0", "w3"],
                     expected: "--beam must be at least 1"),
            BadInput(arguments: ["seq2seq", "train", "--model", "transformer", "--embedding-size", "10", "--heads", "4", "--output", "m"],
                     expected: "--embedding-size 10 must be divisible by --heads 4"),
            BadInput(arguments: ["serve", "--model", LLMProcess.fixture("ours-micro"), "--embeddings", "--port", "0"],
                     expected: "--embeddings serves a BERT encoder's sentence embeddings"),
            BadInput(arguments: ["serve", "--model", LLMProcess.fixture("tiny-bert"), "--embeddings", "--weights", "f16", "--port", "0"],
                     expected: "--weights is for serving a decoder"),
            BadInput(arguments: ["index", "build", "--embedder", LLMProcess.fixture("tiny-bert"), "--output", "x.index", "bad.txt"],
                     expected: "bad.txt: not valid UTF-8", setup: { try Data([0x61, 0xFF, 0x62]).write(to: URL(fileURLWithPath: $0 + "/bad.txt")) }),
            BadInput(arguments: ["index", "build", "--embedder", LLMProcess.fixture("tiny-bert"), "--output", "x.index", "--chunk-tokens", "100", "a.txt"],
                     expected: "--chunk-tokens 100 is longer than", setup: { try Data("hello".utf8).write(to: URL(fileURLWithPath: $0 + "/a.txt")) }),
            BadInput(arguments: ["index", "build", "--embedder", LLMProcess.fixture("tiny-bert"), "--output", "x.index", "r.jsonl"],
                     expected: "r.jsonl:2: a record must be a JSON object with a \"text\" string",
                     setup: { try Data("{\"text\": \"fine\"}\n[1, 2]\n".utf8).write(to: URL(fileURLWithPath: $0 + "/r.jsonl")) }),
            BadInput(arguments: ["index", "search", "--index", "missing.index", "cats"], expected: "--index missing.index: no such file"),
            BadInput(arguments: ["ask", "--index", "missing.index", "--model", LLMProcess.fixture("ours-micro"), " "], expected: "the question is empty"),
            BadInput(arguments: ["serve", "--model", LLMProcess.fixture("tiny-bert-mlm"), "--weights", "f16"], expected: "--weights is for serving a decoder"),
            BadInput(arguments: ["serve", "--model", LLMProcess.fixture("tiny-bert"), "--port", "0"], expected: "no masked-LM head"),
            BadInput(arguments: ["finetune", "classify", "--model", LLMProcess.fixture("ours-micro"), "--data", "sms.tsv", "--pooling", "mean",
                                 "--output", "cls"], expected: "--pooling is for a BERT",
                     setup: { try Data("spam\tWIN\nham\thi\n".utf8).write(to: URL(fileURLWithPath: $0 + "/sms.tsv")) }),
        ]
        for bad in cases {
            let dir = try LLMProcess.scratch()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try bad.setup(dir)
            let before = LLMProcess.contents(dir)
            let run = try LLMProcess.run(bad.arguments, in: dir)
            let command = "llm " + bad.arguments.joined(separator: " ")
            XCTAssertNotEqual(run.status, 0, "\(command) fails")
            XCTAssertTrue(run.stdout.isEmpty, "\(command) prints nothing on standard output: \(run.stdout)")
            let lines = run.errorLines
            XCTAssertTrue(lines.first?.hasPrefix("Error: ") == true, "\(command): the first line is the error: \(run.stderr)")
            XCTAssertTrue(lines.first?.contains(bad.expected) == true, "\(command): \(lines.first ?? "") should say \"\(bad.expected)\"")
            // Our own errors are one line (exit 1). A value the argument parser rejects (exit 64) is followed by
            // its usage lines, which is swift-argument-parser's convention; still a single "Error:" line.
            if run.status == 64 {
                XCTAssertEqual(lines.filter { $0.hasPrefix("Error") }.count, 1, "\(command): \(run.stderr)")
                XCTAssertTrue(lines.dropFirst().allSatisfy { $0.hasPrefix("Help:") || $0.hasPrefix("Usage:") || $0.hasPrefix(" ") },
                              "\(command): only usage follows the error: \(run.stderr)")
            } else {
                XCTAssertEqual(run.status, 1, "\(command)")
                XCTAssertEqual(lines.count, 1, "\(command) writes one line: \(run.stderr)")
            }
            XCTAssertEqual(LLMProcess.contents(dir), before, "\(command) leaves no file or directory behind")
        }
    }

    func testPicturesOfAModelDirectory() throws {
        let dir = try LLMProcess.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = LLMProcess.fixture("ours-micro") // GPT-2's vocabulary, which these commands tokenize with
        let embeddings = try LLMProcess.run(["embeddings", "--model", model, "--words", "king", "queen", "man", "--nearest", "3",
                                             "--output", "e.svg"], in: dir)
        XCTAssertEqual(embeddings.status, 0, embeddings.stderr)
        XCTAssertEqual(embeddings.stdout.split(separator: "\n").filter { $0.hasPrefix("king: ") }.count, 1, embeddings.stdout)
        let attention = try LLMProcess.run(["attention", "--model", model, "--text", "Every effort moves", "--output", "a.svg"], in: dir)
        XCTAssertEqual(attention.status, 0, attention.stderr)
        XCTAssertEqual(LLMProcess.contents(dir), ["a.svg", "e.svg"])
    }

    func testFillMaskAndBERTTokenize() throws {
        let model = LLMProcess.fixture("tiny-bert-mlm")
        let run = try LLMProcess.run(["fill-mask", "--model", model, "--top-k", "3", "--json", "The [MASK] sat on the [MASK]."])
        XCTAssertEqual(run.status, 0, run.stderr)
        let lists = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[[String: Any]]]
        XCTAssertEqual(lists?.count, 2, "one list per [MASK]")
        XCTAssertEqual(lists?.first?.count, 3)
        XCTAssertNotNil(lists?.first?.first?["sequence"] as? String)
        let scores = lists?.first?.compactMap { $0["score"] as? Double } ?? []
        XCTAssertEqual(scores, scores.sorted(by: >), "best first")
        let eval = try LLMProcess.run(["eval", "--model", model, "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let summary = try JSONSerialization.jsonObject(with: Data((eval.stdout.split(separator: "\n").last ?? "").utf8)) as? [String: Any]
        XCTAssertEqual(summary?["objective"] as? String, "mlm")
        // A random BERT: about log(3000) = 8.0 per masked token.
        XCTAssertEqual(summary?["loss"] as? Double ?? 0, 8.0, accuracy: 0.5)
        let tokens = try LLMProcess.run(["tokenize", "--model", model], input: "The [MASK] sat.")
        XCTAssertEqual(tokens.status, 0, tokens.stderr)
        XCTAssertEqual(tokens.stdout.split(separator: " ").first, "2", "[CLS] first")
    }

    /// The encoder's path as a user walks it: pretrain a BERT by masked-language modelling (vocabulary learnt from the
    /// embedded text), fill a mask with it, fine-tune it into a classifier, classify with that, and resume the pretraining.
    func testBERTPretrainFineTuneClassify() throws {
        let dir = try LLMProcess.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let train = ["train", "--preset", "bert-tiny", "--vocab-size", "400", "--context-length", "32", "--batch-size", "4", "--epochs", "5",
                     "--eval-every", "3", "--output", "bert", "--json"]
        let pretrain = try LLMProcess.run(train + ["--max-steps", "3"], in: dir)
        XCTAssertEqual(pretrain.status, 0, pretrain.stderr)
        let summary = try JSONSerialization.jsonObject(with: Data((pretrain.stdout.split(separator: "\n").last ?? "").utf8)) as? [String: Any]
        XCTAssertEqual(summary?["steps"] as? Int, 3)
        XCTAssertTrue(pretrain.stderr.contains("[MASK] (you) →"), "the evaluation shows the model filling a mask")
        for name in ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "loss.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/bert/" + name), name)
        }
        let resumed = try LLMProcess.run(train + ["--max-steps", "5", "--resume"], in: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("at step 3 of 5"), resumed.stderr)
        let fill = try LLMProcess.run(["fill-mask", "--model", "bert", "--json", "I had always thought [MASK] Gisburn"], in: dir)
        XCTAssertEqual(fill.status, 0, fill.stderr)
        let attention = try LLMProcess.run(["attention", "--model", "bert", "--text", "I had always thought", "--layer", "1",
                                            "--output", "bert-attention.svg"], in: dir)
        XCTAssertEqual(attention.status, 0, attention.stderr)
        XCTAssertTrue(attention.stdout.contains("\"[CLS]\""), "head 0 printed with BERT's tokens: \(attention.stdout)")

        let rows = (0..<24).map { i in i % 2 == 0 ? "spam\tWIN a free prize now, call \(i)!" : "ham\tsee you at lunch today, \(i)" }
        try Data((rows.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: dir + "/sms.tsv"))
        let finetune = try LLMProcess.run(["finetune", "classify", "--model", "bert", "--data", "sms.tsv", "--epochs", "1", "--batch-size", "4",
                                           "--trainable-blocks", "all", "--lr", "1e-3", "--output", "cls", "--json"], in: dir)
        XCTAssertEqual(finetune.status, 0, finetune.stderr)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/cls/config.json"))) as? [String: Any]
        XCTAssertEqual(config?["architectures"] as? [String], ["BertForSequenceClassification"])
        let classify = try LLMProcess.run(["classify", "--model", "cls", "--json", "WIN a prize"], in: dir)
        XCTAssertEqual(classify.status, 0, classify.stderr)
        let answer = try JSONSerialization.jsonObject(with: Data(classify.stdout.utf8)) as? [String: Any]
        XCTAssertTrue(["ham", "spam"].contains(answer?["label"] as? String ?? ""), classify.stdout)
    }

    /// A GPT on a vocabulary of its own: learn a BPE from the embedded text's file, pretrain with it (the table sized to
    /// it, the file saved with the model), and the directory tokenizes, generates and fine-tunes with that vocabulary.
    func testGPTTrainsWithALearntTokenizer() throws {
        let dir = try LLMProcess.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = (0..<200).map { "the cat sat on the mat number \($0 % 7)." }.joined(separator: " ")
        try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/corpus.txt"))
        let learn = try LLMProcess.run(["train-tokenizer", "--vocab-size", "300", "--special", "<|endoftext|>", "-o", "corpus.tiktoken", "corpus.txt"], in: dir)
        XCTAssertEqual(learn.status, 0, learn.stderr)
        let train = try LLMProcess.run(["train", "--preset", "small", "--tokenizer", "corpus.tiktoken", "--data", "corpus.txt", "--context-length", "16",
                                        "--batch-size", "2", "--max-steps", "2", "--eval-every", "2", "--output", "gpt"], in: dir)
        XCTAssertEqual(train.status, 0, train.stderr)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/gpt/config.json"))) as? [String: Any]
        let learnt = try String(contentsOfFile: dir + "/corpus.tiktoken", encoding: .utf8).split(separator: "\n").count
        XCTAssertEqual(config?["vocab_size"] as? Int, learnt + 1, "the learnt tokens and <|endoftext|>")
        let fromFile = try LLMProcess.run(["tokenize", "--encoding", "corpus.tiktoken", "--json", "corpus.txt"], in: dir)
        let fromModel = try LLMProcess.run(["tokenize", "--encoding", "gpt/tokenizer.tiktoken", "--json", "corpus.txt"], in: dir)
        XCTAssertEqual(fromFile.status, 0, fromFile.stderr)
        XCTAssertEqual(fromFile.stdout, fromModel.stdout, "the model keeps the vocabulary it was trained with")
        let generate = try LLMProcess.run(["generate", "--model", "gpt", "--max-new-tokens", "3", "--prompt", "the cat"], in: dir)
        XCTAssertEqual(generate.status, 0, generate.stderr)
        let rows = (0..<16).map { i in i % 2 == 0 ? "spam\tthe cat \(i)" : "ham\tthe mat \(i)" }
        try Data((rows.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: dir + "/sms.tsv"))
        let finetune = try LLMProcess.run(["finetune", "classify", "--model", "gpt", "--data", "sms.tsv", "--epochs", "1", "--batch-size", "4",
                                           "--output", "cls"], in: dir)
        XCTAssertEqual(finetune.status, 0, finetune.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/cls/tokenizer.tiktoken"), "the classifier keeps the tokenizer")
        let classify = try LLMProcess.run(["classify", "--model", "cls", "the cat"], in: dir)
        XCTAssertEqual(classify.status, 0, classify.stderr)
    }

    /// The story before self-attention, run: an encoder-decoder with Bahdanau attention trained a few steps on the
    /// synthetic translation task, its accuracy by length in the summary, and a translation with its alignment.
    func testSeq2SeqTrainAndTranslate() throws {
        let dir = try LLMProcess.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let train = try LLMProcess.run(["seq2seq", "train", "--model", "rnn-attention", "--steps", "20", "--examples", "200", "--embedding-size", "8",
                                        "--hidden-size", "16", "--test-clauses", "2", "--output", "m", "--json"], in: dir)
        XCTAssertEqual(train.status, 0, train.stderr)
        let summary = try JSONSerialization.jsonObject(with: Data((train.stdout.split(separator: "\n").last ?? "").utf8)) as? [String: Any]
        XCTAssertEqual(summary?["test_sentences"] as? Int, 200)
        let byLength = summary?["by_source_words"] as? [String: [String: Any]]
        XCTAssertEqual(byLength?.values.reduce(0) { $0 + ($1["sentences"] as? Int ?? 0) }, 200)
        XCTAssertNotNil(summary?["test_word_accuracy"] as? Double)
        let evaluate = try LLMProcess.run(["seq2seq", "evaluate", "--model", "m", "--test-clauses", "2", "--beam", "2", "--json"], in: dir)
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        let scored = try JSONSerialization.jsonObject(with: Data((evaluate.stdout.split(separator: "\n").last ?? "").utf8)) as? [String: Any]
        XCTAssertEqual(scored?["beam"] as? Int, 2)
        XCTAssertEqual(scored?["test_sentences"] as? Int, 200)
        for name in ["config.json", "model.safetensors", "source_vocab.txt", "target_vocab.txt"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/m/" + name), name)
        }
        let translate = try LLMProcess.run(["seq2seq", "translate", "--model", "m", "--max-length", "8", "--json", "the red fox sees a dog"], in: dir)
        XCTAssertEqual(translate.status, 0, translate.stderr)
        let line = try JSONSerialization.jsonObject(with: Data(translate.stdout.utf8)) as? [String: Any]
        let words = (line?["translation"] as? String)?.split(separator: " ").count ?? -1
        let alignment = line?["alignment"] as? [[Double]]
        XCTAssertEqual(alignment?.count, words, "one alignment row per output word")
        XCTAssertTrue(alignment?.allSatisfy { $0.count == 6 } ?? false, "each over the 6 source words")
        let drawn = try LLMProcess.run(["seq2seq", "translate", "--model", "m", "--max-length", "8", "--alignment", "a.svg", "the red fox sees a dog"], in: dir)
        XCTAssertEqual(drawn.status, 0, drawn.stderr)
        let svg = try String(contentsOfFile: dir + "/a.svg", encoding: .utf8)
        XCTAssertEqual(svg.components(separatedBy: "<rect x=").count - 1, 6 * words, "a cell per output word and source word")
        let plain = try LLMProcess.run(["seq2seq", "train", "--model", "rnn", "--steps", "2", "--examples", "20", "--hidden-size", "8",
                                        "--embedding-size", "4", "--test-clauses", "1", "--output", "plain"], in: dir)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let noAttention = try LLMProcess.run(["seq2seq", "translate", "--model", "plain", "--alignment", "b.svg", "the fox"], in: dir)
        XCTAssertEqual(noAttention.errorLines.first, "Error: --alignment: plain has no attention to draw (it was trained with --model rnn)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/b.svg"))
        let unknown = try LLMProcess.run(["seq2seq", "translate", "--model", "m", "the zebra"], in: dir)
        XCTAssertEqual(unknown.status, 1)
        XCTAssertEqual(unknown.errorLines, ["Error: \"zebra\" is not in the vocabulary: this model was trained on another vocabulary (29 source words)"])

        // The Transformer: trained, translated with a beam, its cross-attention drawn; an over-long input refused.
        let transformer = try LLMProcess.run(["seq2seq", "train", "--model", "transformer", "--steps", "5", "--examples", "50", "--embedding-size", "8",
                                              "--heads", "2", "--hidden-size", "16", "--layers", "1", "--test-clauses", "1", "--output", "t"], in: dir)
        XCTAssertEqual(transformer.status, 0, transformer.stderr)
        let beam = try LLMProcess.run(["seq2seq", "translate", "--model", "t", "--beam", "3", "--max-length", "5", "--alignment", "c.svg", "the red fox"], in: dir)
        XCTAssertEqual(beam.status, 0, beam.stderr)
        XCTAssertTrue(try String(contentsOfFile: dir + "/c.svg", encoding: .utf8).contains("Cross-attention"))
        let long = try LLMProcess.run(["seq2seq", "translate", "--model", "t", Array(repeating: "the fox", count: 200).joined(separator: " ")], in: dir)
        XCTAssertEqual(long.errorLines, ["Error: a sentence of 400 words is longer than this model's 256 positions"])
        try Data(String(repeating: "un chat\tle chat\n", count: 10).utf8).write(to: URL(fileURLWithPath: dir + "/pairs.tsv"))
        let otherData = try LLMProcess.run(["seq2seq", "evaluate", "--model", "t", "--data", "pairs.tsv"], in: dir)
        XCTAssertEqual(otherData.status, 1)
        XCTAssertTrue(otherData.errorLines.first?.hasPrefix("Error: t was trained on other vocabularies") ?? false, otherData.stderr)
    }

    /// A retrieval index: built from a text file and JSONL records, searched (the best chunk of a query that is a
    /// chunk's own text is that chunk), extended, and refused with another embedder or once damaged.
    func testIndexBuildSearchAdd() throws {
        let dir = try LLMProcess.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let embedder = LLMProcess.fixture("tiny-bert")
        try Data("# Cats\n\nThe cat sat on the mat. It was warm.\n\n# Dogs\n\nA dog ran in the park all day long.\n".utf8)
            .write(to: URL(fileURLWithPath: dir + "/notes.md"))
        try Data("{\"id\": \"r1\", \"text\": \"Rain falls on the hills.\", \"lang\": \"en\"}\n\n{\"id\": 7, \"text\": \"Snow.\"}\n".utf8)
            .write(to: URL(fileURLWithPath: dir + "/records.jsonl"))
        let build = try LLMProcess.run(["index", "build", "--embedder", embedder, "--output", "notes.index", "--chunk-tokens", "32",
                                        "notes.md", "records.jsonl"], in: dir)
        XCTAssertEqual(build.status, 0, build.stderr)
        XCTAssertTrue(build.stderr.contains("wrote notes.index: 6 chunks of 2 files"), build.stderr)
        let search = try LLMProcess.run(["index", "search", "--index", "notes.index", "--top-k", "2", "--json",
                                         "A dog ran in the park all day long.", "Rain falls on the hills."], in: dir)
        XCTAssertEqual(search.status, 0, search.stderr)
        let lines = search.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(lines.count, 2)
        let first = (lines.first?["results"] as? [[String: Any]])?.first
        XCTAssertEqual(first?["id"] as? String, "notes.md#4")
        XCTAssertEqual(first?["score"] as? Double ?? 0, 1, accuracy: 1e-4, "a chunk's own text is its best match")
        XCTAssertEqual(first?["source"] as? String, "notes.md")
        let rain = (lines.last?["results"] as? [[String: Any]])?.first
        XCTAssertEqual(rain?["id"] as? String, "r1")
        XCTAssertEqual(rain?["lang"] as? String, "en", "a record's fields come back as metadata")
        try Data("Birds sing at dawn.\n".utf8).write(to: URL(fileURLWithPath: dir + "/more.txt"))
        let add = try LLMProcess.run(["index", "add", "--index", "notes.index", "more.txt"], in: dir)
        XCTAssertEqual(add.status, 0, add.stderr)
        XCTAssertTrue(add.stderr.contains("7 in all"), add.stderr)
        let again = try LLMProcess.run(["index", "add", "--index", "notes.index", "more.txt"], in: dir)
        XCTAssertEqual(again.errorLines, ["Error: notes.index already has a chunk \"more.txt#1\": more.txt is indexed already"])
        let other = try LLMProcess.run(["index", "search", "--index", "notes.index", "--embedder", LLMProcess.fixture("tiny-bert-mlm"), "cats"], in: dir)
        XCTAssertEqual(other.status, 1)
        XCTAssertTrue(other.errorLines.first?.hasPrefix("Error: notes.index was built with another embedder (tiny-bert,") ?? false, other.stderr)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/notes.index"))
        bytes[bytes.count - 30] ^= 1
        try bytes.write(to: URL(fileURLWithPath: dir + "/damaged.index"))
        let damaged = try LLMProcess.run(["index", "search", "--index", "damaged.index", "cats"], in: dir)
        XCTAssertEqual(damaged.errorLines, ["Error: damaged.index: the checksum does not match: the file is damaged"])
        let empty = try LLMProcess.run(["index", "search", "--index", "notes.index", "  "], in: dir)
        XCTAssertEqual(empty.errorLines, ["Error: an empty query (only whitespace) matches nothing"])

        // With an HNSW graph: the same best chunks on an index this small, kept through add.
        let graph = try LLMProcess.run(["index", "build", "--embedder", embedder, "--output", "graph.index", "--chunk-tokens", "32",
                                        "--hnsw", "--hnsw-m", "4", "notes.md", "records.jsonl"], in: dir)
        XCTAssertTrue(graph.stderr.contains("an HNSW graph (m 4)"), graph.stderr)
        XCTAssertEqual(try LLMProcess.run(["index", "add", "--index", "graph.index", "more.txt"], in: dir).status, 0)
        let viaGraph = try LLMProcess.run(["index", "search", "--index", "graph.index", "--top-k", "3", "--ef", "8", "--json", "Birds sing at dawn."], in: dir)
        let viaScan = try LLMProcess.run(["index", "search", "--index", "notes.index", "--top-k", "3", "--json", "Birds sing at dawn."], in: dir)
        XCTAssertEqual(viaGraph.status, 0, viaGraph.stderr)
        func ranked(_ run: LLMRun) -> [(String, Double)] {
            let line = try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            return (line?["results"] as? [[String: Any]] ?? []).map { ($0["id"] as? String ?? "", $0["score"] as? Double ?? 0) }
        }
        XCTAssertEqual(ranked(viaGraph).map(\.0), ranked(viaScan).map(\.0))
        XCTAssertEqual(ranked(viaGraph).count, 3)
        for (a, b) in zip(ranked(viaGraph), ranked(viaScan)) { XCTAssertEqual(a.1, b.1, accuracy: 1e-5, "scores as the scan's, to rounding") }

        // Retrieval-augmented generation: the prompt the model read holds the retrieved chunks, numbered, and the question.
        let ask = try LLMProcess.run(["ask", "--index", "notes.index", "--model", LLMProcess.fixture("ours-micro"), "--top-k", "2",
                                      "--max-new-tokens", "4", "--json", "A dog ran in the park all day long."], in: dir)
        XCTAssertEqual(ask.status, 0, ask.stderr)
        let answer = try JSONSerialization.jsonObject(with: Data(ask.stdout.utf8)) as? [String: Any]
        let sources = answer?["sources"] as? [[String: Any]] ?? []
        XCTAssertEqual(sources.count, 2)
        XCTAssertEqual(sources.first?["id"] as? String, "notes.md#4", "the chunk whose text is the question comes first")
        let prompt = answer?["prompt"] as? String ?? ""
        XCTAssertTrue(prompt.contains("[1] A dog ran in the park all day long.") && prompt.hasSuffix("Question: A dog ran in the park all day long.\nAssistant:"), prompt)
        XCTAssertNotNil(answer?["answer"] as? String)
    }

    func testDemoWritesItsModelPlotAndSample() throws {
        let dir = try LLMProcess.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try LLMProcess.run(["demo", "--steps", "2", "--length", "5", "--output", "out", "--json"], in: dir)
        XCTAssertEqual(run.status, 0, run.stderr)
        let files = LLMProcess.contents(dir + "/out")
        for name in ["config.json", "model.safetensors", "loss.svg", "sample.txt"] {
            XCTAssertTrue(files.contains { $0.hasSuffix(name) }, "the demo writes \(name): \(files)")
        }
        XCTAssertFalse(files.contains { $0.hasSuffix(".partial") || $0.contains(".tmp") }, "no half-written files: \(files)")
        // --json: the last line of standard output is one JSON object.
        let last = run.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let summary = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
        XCTAssertNotNil(summary, "--json ends with a JSON object: \(last)")
        let svg = try String(contentsOfFile: dir + "/out/" + files.first { $0.hasSuffix("loss.svg") }!, encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<svg") || svg.hasPrefix("<?xml"), "loss.svg is an SVG")
    }
}
