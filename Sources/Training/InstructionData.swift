// Instruction–response pairs for instruction fine-tuning (the book's chapter 7): reading Alpaca-style
// JSON or JSONL records, the Alpaca prompt format, and the padded, masked batches the loss needs.
//
//   prompt  = "Below is an instruction ... ### Instruction:\n{instruction}[\n\n### Input:\n{input}]"
//   example = prompt + "\n\n### Response:\n" + output, then <|endoftext|>
//
// In a batch every example is padded with <|endoftext|> to the longest; targets are the inputs shifted
// by one; the first padding target stays (the model must learn to end its answer) and every later one
// becomes -100 so the loss ignores it. Optionally the targets inside the prompt are -100 too, so only
// the response is learned.

import Foundation
import Tensors
import Tokenizers

public struct InstructionExample: Sendable, Equatable {
    public let instruction: String
    public let input: String
    public let output: String
    /// Line of the file where the record starts (1-based), for error messages.
    public let line: Int

    public init(instruction: String, input: String, output: String, line: Int = 0) {
        self.instruction = instruction
        self.input = input
        self.output = output
        self.line = line
    }

    /// The book's `format_input`: the task description, the instruction and (when non-empty) the input.
    public var prompt: String {
        "Below is an instruction that describes a task. Write a response that appropriately completes the request."
            + "\n\n### Instruction:\n\(instruction)" + (input.isEmpty ? "" : "\n\n### Input:\n\(input)")
    }

    /// What precedes the answer: the prompt and the response header.
    public var promptWithResponseHeader: String { prompt + InstructionExample.responseHeader }

    public static let responseHeader = "\n\n### Response:\n"
}

public enum InstructionFile {
    /// Reads a JSON array of records or JSONL (one record per line). Each record needs the string keys
    /// "instruction", "input" (may be empty) and "output".
    public static func read(_ path: String) throws -> [InstructionExample] {
        guard let data = FileManager.default.contents(atPath: path) else { throw DatasetError(description: "\(path): cannot read it") }
        guard let text = String(data: data, encoding: .utf8) else { throw DatasetError(description: "\(path): not UTF-8 text") }
        let trimmed = text.drop { $0.isWhitespace }
        var records: [(Any, Int)] = []
        if trimmed.first == "[" {
            guard let array = try? JSONSerialization.jsonObject(with: data) as? [Any] else {
                throw DatasetError(description: "\(path): not valid JSON")
            }
            let lines = recordLines(text)
            records = array.enumerated().map { ($0.element, $0.offset < lines.count ? lines[$0.offset] : 0) }
        } else {
            for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) else {
                    throw DatasetError(description: "\(path):\(i + 1): not a valid JSON line")
                }
                records.append((object, i + 1))
            }
        }
        guard !records.isEmpty else { throw DatasetError(description: "\(path): no records") }
        return try records.map { record, line in
            guard let object = record as? [String: Any] else {
                throw DatasetError(description: "\(path):\(line): a record must be a JSON object")
            }
            func field(_ key: String) throws -> String {
                guard let value = object[key] else {
                    throw DatasetError(description: "\(path):\(line): the record has no \"\(key)\" (needs instruction, input, output)")
                }
                guard let string = value as? String else { throw DatasetError(description: "\(path):\(line): \"\(key)\" is not a string") }
                return string
            }
            let example = InstructionExample(instruction: try field("instruction"), input: try field("input"),
                                             output: try field("output"), line: line)
            guard !example.instruction.isEmpty else { throw DatasetError(description: "\(path):\(line): the instruction is empty") }
            return example
        }
    }

    /// The line on which each top-level object of a JSON array starts (strings and escapes respected).
    static func recordLines(_ text: String) -> [Int] {
        var lines: [Int] = [], line = 1, depth = 0, inString = false, escaped = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\n") { line += 1 }
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                if depth == 1 && byte == UInt8(ascii: "{") { lines.append(line) }
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        return lines
    }
}

/// One batch for next-token training: inputs and targets (B, T) row-major, ignored targets = -100.
public struct InstructionBatch: Sendable, Equatable {
    public let inputs: [Int]
    public let targets: [Int]
    public let batchSize: Int
    public let length: Int
}

/// Token sequences of instruction examples, and the batches the book's `custom_collate_fn` makes.
public struct InstructionDataset: Sendable {
    /// Each example's tokens: prompt with response header, then the output.
    public let sequences: [[Int]]
    /// Tokens of each sequence that belong to the prompt (and response header).
    public let promptLengths: [Int]
    /// The end-of-text token that ends each example and pads the batches (gpt2's <|endoftext|>, 50256).
    public let endOfText: Int

    /// The prompt and the output are encoded separately and joined, so that the prompt/response
    /// boundary is a token boundary (encoding the joined text gives the same tokens whenever the
    /// output does not start with whitespace, as in the book's data).
    public init(_ examples: [InstructionExample], encoding: Encoding) {
        let prompts = examples.map { encoding.encodeOrdinary($0.promptWithResponseHeader) }
        sequences = zip(prompts, examples).map { $0 + encoding.encodeOrdinary($1.output) }
        promptLengths = prompts.map(\.count)
        endOfText = encoding.endOfText ?? 50256
    }

    public init(sequences: [[Int]], promptLengths: [Int], endOfText: Int = 50256) {
        self.sequences = sequences
        self.promptLengths = promptLengths
        self.endOfText = endOfText
    }

    public var count: Int { sequences.count }

    /// Batches in order, or shuffled with `seed` (a different order per epoch).
    public func batches(size: Int, shuffle: Bool = false, dropLast: Bool = false, seed: UInt64 = 0, epoch: Int = 0,
                        maskPrompt: Bool = false, maxLength: Int? = nil) -> [InstructionBatch] {
        let order = epochOrder(count, shuffle: shuffle, seed: seed, epoch: epoch)
        return batchMembers(order, size: size, dropLast: dropLast).map { members in
            InstructionDataset.collate(members.map { sequences[$0] },
                                       promptLengths: maskPrompt ? members.map { promptLengths[$0] } : nil,
                                       padTokenId: endOfText, maxLength: maxLength)
        }
    }

    /// The book's `custom_collate_fn`: append one <|endoftext|> to each sequence, pad to the longest,
    /// inputs = all but the last token, targets = all but the first; padding targets after the first
    /// become `ignoreIndex`; with `promptLengths`, so do the targets that predict prompt tokens;
    /// finally both are cut to `maxLength` tokens.
    public static func collate(_ items: [[Int]], promptLengths: [Int]? = nil, padTokenId: Int = 50256,
                               ignoreIndex: Int = -100, maxLength: Int? = nil) -> InstructionBatch {
        let longest = items.map { $0.count + 1 }.max() ?? 1
        let t = min(longest - 1, maxLength ?? Int.max)
        var inputs: [Int] = [], targets: [Int] = []
        for (row, item) in items.enumerated() {
            let padded = item + Array(repeating: padTokenId, count: longest - item.count) // item + <|endoftext|> + padding
            var target = Array(padded[1...])
            for i in item.count..<target.count { target[i] = ignoreIndex } // target[item.count - 1] is the end-of-text
            if let promptLengths {
                for i in 0..<min(max(promptLengths[row] - 1, 0), target.count) { target[i] = ignoreIndex }
            }
            inputs += padded[0..<t]
            targets += target[0..<t]
        }
        return InstructionBatch(inputs: inputs, targets: targets, batchSize: items.count, length: t)
    }
}
