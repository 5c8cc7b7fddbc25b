// Loading the fixtures made by scripts/make_tokenizer_goldens.py (tiktoken 0.14 and Python's `re`).

import Foundation
import Tokenizers

struct TokenizerGoldens: Decodable {
    struct EncodeCase: Decodable { let encoding: String; let text: String; let allowed: String; let ids: [Int] }
    struct DecodeCase: Decodable { let encoding: String; let ids: [Int]; let text: String; let bytes: [UInt8] }
    struct Simple: Decodable {
        let verdict_tokens: Int
        let vocabulary: Int
        let first_tokens: [String]
        let v2_text: String
        let v2_ids: [Int]
        let v2_decoded: String
    }
    let corpus_tokens: [String: Int]
    let encode: [EncodeCase]
    let decode: [DecodeCase]
    let verdict_gpt2: [Int]
    let simple: Simple
}

enum Fixtures {
    static func url(_ name: String, _ ext: String) -> URL {
        Bundle.module.url(forResource: name, withExtension: ext)!
    }

    static let goldens: TokenizerGoldens = try! JSONDecoder().decode(
        TokenizerGoldens.self, from: Data(contentsOf: url("tokenizer-goldens", "json")))

    static let corpus: String = try! String(contentsOf: url("parity-corpus", "txt"), encoding: .utf8)

    static var verdict: String {
        // The Verdict is the first part of the book; its text is also shipped with the demo.
        try! String(contentsOf: url("the-verdict", "txt"), encoding: .utf8)
    }

    /// tiktoken's ids for the corpus (LEB128 varints).
    static func corpusIDs(_ encoding: String) -> [Int] {
        let data = try! Data(contentsOf: url("parity-\(encoding)", "ids"))
        var ids: [Int] = [], value = 0, shift = 0
        for b in data {
            value |= Int(b & 0x7F) << shift
            if b & 0x80 == 0 { ids.append(value); value = 0; shift = 0 } else { shift += 7 }
        }
        return ids
    }
}
