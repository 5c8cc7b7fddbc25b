// `LLMBench tokenize`: encode and decode throughput on the same corpora as bench/reference/tokenize.py.
// Corpora: `mixed` is the tokenizer parity corpus (prose, code, CJK, Arabic, emoji, odd whitespace);
// `english` is The Verdict, the instruction data set and the SMS messages, concatenated.

import Foundation
import Tokenizers

func tokenizeCorpora() -> [(String, String)] {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    let mixed = try! String(contentsOf: root.appendingPathComponent("Tests/TokenizersTests/Resources/parity-corpus.txt"), encoding: .utf8)
    let data = root.deletingLastPathComponent().appendingPathComponent("shared/data")
    let english = ["the-verdict.txt", "instruction-data.json", "SMSSpamCollection.tsv"]
        .map { try! String(contentsOf: data.appendingPathComponent($0), encoding: .utf8) }.joined(separator: "\n")
    return [("mixed", mixed), ("english", english)]
}

func benchTokenize(_ args: [String]) {
    for (corpusName, text) in tokenizeCorpora() {
        let megabytes = Double(text.utf8.count) / 1e6
        for name in ["gpt2", "cl100k_base", "o200k_base"] {
            let e = try! Encoding.named(name)
            var ids: [Int] = []
            let encodeSeconds = time(repeats: 5) { ids = e.encodeOrdinary(text) }
            let decodeSeconds = time(repeats: 5) { _ = try! e.decodeBytes(ids) }
            let lines = text.split(separator: "\n").map(String.init)
            let batchSeconds = time(repeats: 5) { _ = try! e.encodeBatch(lines, allowedSpecial: .all) }
            for (op, seconds, threads) in [("encode", encodeSeconds, 1), ("decode", decodeSeconds, 1),
                                           ("encode-batch", batchSeconds, ProcessInfo.processInfo.activeProcessorCount)] {
                emit(["bench": "tokenize", "shape": "\(name)/\(corpusName)", "variant": op, "impl": "llm (Swift+C)",
                      "threads": threads, "seconds": seconds, "mb_per_s": megabytes / seconds, "tokens": ids.count])
            }
        }
        // BPE training, GPT-2 pre-tokenization, to 8,000 tokens.
        let trainSeconds = time(repeats: 3) { _ = BPETrainer.train(texts: [text], vocabularySize: 8000) }
        emit(["bench": "tokenize", "shape": "train-8000/\(corpusName)", "variant": "train", "impl": "llm (Swift+C)",
              "threads": 1, "seconds": trainSeconds, "mb_per_s": megabytes / trainSeconds, "tokens": 8000])
    }
}
