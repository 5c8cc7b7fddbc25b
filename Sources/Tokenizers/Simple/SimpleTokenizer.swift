// The book's first tokenizers (chapter 2): split text on punctuation and whitespace with a regular
// expression, keep the punctuation as tokens, drop the whitespace, and number the distinct words.
//
// On "The Verdict" this gives 4,690 tokens and a 1,130-word vocabulary (1,132 with the two special
// tokens of V2), as in the book. These tokenizers are for learning; models use byte-level BPE
// (`Encoding`), which has no unknown words.

import Foundation

public enum SimpleTokenizer {
    /// The book's pattern: `([,.:;?_!"()']|--|\s)`; the captured delimiters are kept as tokens.
    nonisolated(unsafe) static let delimiter = /([,.:;?_!"()']|--|\s)/

    /// Splits `text` into words and punctuation; whitespace separates but is not kept.
    public static func split(_ text: String) -> [String] {
        var pieces: [String] = []
        var start = text.startIndex
        for match in text.matches(of: delimiter) {
            pieces.append(String(text[start..<match.range.lowerBound]))
            pieces.append(String(text[match.range]))
            start = match.range.upperBound
        }
        pieces.append(String(text[start...]))
        return pieces.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    /// Sorted distinct tokens of `text` numbered from 0, plus `extraTokens` numbered after them.
    public static func vocabulary(from text: String, extraTokens: [String] = []) -> [String: Int] {
        let words = Array(Set(split(text))).sorted() + extraTokens
        return Dictionary(uniqueKeysWithValues: words.enumerated().map { ($1, $0) })
    }

    /// Joins tokens with spaces, then removes the space before punctuation, as the book's decoder.
    static func join(_ tokens: [String]) -> String {
        tokens.joined(separator: " ").replacing(/\s+([,.?!"()'])/) { String($0.output.1) }
    }
}

/// Chapter 2's first tokenizer: a word outside the vocabulary is an error.
public struct SimpleTokenizerV1: Sendable {
    public let vocabulary: [String: Int]
    let words: [Int: String]

    public init(vocabulary: [String: Int]) {
        self.vocabulary = vocabulary
        words = Dictionary(uniqueKeysWithValues: vocabulary.map { ($1, $0) })
    }

    public func encode(_ text: String) throws -> [Int] {
        try SimpleTokenizer.split(text).map { word in
            guard let id = vocabulary[word] else { throw TokenizerError.unknownWord(word) }
            return id
        }
    }

    public func decode(_ ids: [Int]) throws -> String {
        SimpleTokenizer.join(try ids.map { id in
            guard let word = words[id] else { throw TokenizerError.unknownToken(id, vocabularySize: words.count) }
            return word
        })
    }
}

/// Chapter 2's second tokenizer: unknown words become `<|unk|>`, and `<|endoftext|>` separates texts.
public struct SimpleTokenizerV2: Sendable {
    public static let unknown = "<|unk|>"
    public static let endOfText = "<|endoftext|>"
    public let vocabulary: [String: Int]
    let words: [Int: String]

    /// A vocabulary built from `text` with `<|endoftext|>` and `<|unk|>` appended, as the book does.
    public init(trainingText text: String) {
        self.init(vocabulary: SimpleTokenizer.vocabulary(from: text, extraTokens: [Self.endOfText, Self.unknown]))
    }

    public init(vocabulary: [String: Int]) {
        precondition(vocabulary[Self.unknown] != nil, "SimpleTokenizerV2 needs \(Self.unknown) in its vocabulary")
        self.vocabulary = vocabulary
        words = Dictionary(uniqueKeysWithValues: vocabulary.map { ($1, $0) })
    }

    public func encode(_ text: String) -> [Int] {
        SimpleTokenizer.split(text).map { vocabulary[$0] ?? vocabulary[Self.unknown]! }
    }

    public func decode(_ ids: [Int]) throws -> String {
        SimpleTokenizer.join(try ids.map { id in
            guard let word = words[id] else { throw TokenizerError.unknownToken(id, vocabularySize: words.count) }
            return word
        })
    }
}
