// `llm tokenize` and `llm detokenize`: text to token ids and back with any encoding.

import ArgumentParser
import Foundation
import Tokenizers

struct EncodingOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "gpt2, r50k_base, cl100k_base, o200k_base, or the path of a .tiktoken file.")
    var encoding = "gpt2"

    func load() throws -> Encoding { try Encoding.load(nameOrPath: encoding) }
}

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn text into token ids.",
        discussion: "Prints the ids separated by spaces (a JSON array with --json). --show prints each token with its id.")

    @OptionGroup var encodingOptions: EncodingOptions
    @Option(help: "A BERT model directory: tokenize with its WordPiece tokenizer (tokenizer.json or vocab.txt), [CLS] and [SEP] included, as the model reads the text.")
    var model: String?
    @Option(help: "Special tokens the text may contain: all, none, or a comma-separated list.")
    var allowedSpecial = "none"
    @Flag(help: "Print a JSON array.") var json = false
    @Flag(help: "Show each token's text and id (coloured on a terminal).") var show = false
    @Argument(help: "Text file to tokenize; - or nothing reads standard input.") var file = "-"

    func run() throws {
        if let model {
            try requireDirectory(model, flag: "--model")
            guard let tokenizer = try WordPieceTokenizer.load(modelDirectory: model) else {
                throw CommandError("--model \(model): no WordPiece tokenizer there (tokenizer.json of type WordPiece, or vocab.txt); for a GPT's tokenizer use -e")
            }
            let ids = tokenizer.encode(try Input.text(file)).ids
            if show {
                print(ids.map { "\(tokenizer.vocabulary[$0]) \($0)" }.joined(separator: "  "))
            } else {
                print(json ? "[" + ids.map(String.init).joined(separator: ",") + "]" : ids.map(String.init).joined(separator: " "))
            }
            return
        }
        let encoding = try encodingOptions.load()
        let text = try Input.text(file)
        let allowed: Encoding.AllowedSpecial
        switch allowedSpecial {
        case "none": allowed = .none
        case "all": allowed = .all
        default: allowed = .some(Set(allowedSpecial.split(separator: ",").map { String($0) }))
        }
        let ids = try encoding.encode(text, allowedSpecial: allowed)
        if show {
            try showTokens(ids, encoding)
        } else if json {
            print("[" + ids.map(String.init).joined(separator: ",") + "]")
        } else {
            print(ids.map(String.init).joined(separator: " "))
        }
    }

    private func showTokens(_ ids: [Int], _ encoding: Encoding) throws {
        if isatty(STDOUT_FILENO) == 1 {
            // Alternate background colours so token boundaries are visible; the id follows in dim text.
            let colours = ["\u{1B}[48;5;153m", "\u{1B}[48;5;223m", "\u{1B}[48;5;194m", "\u{1B}[48;5;225m"]
            var line = ""
            for (i, id) in ids.enumerated() {
                let text = try encoding.decode([id]).replacingOccurrences(of: "\n", with: "↵\n")
                line += "\(colours[i % colours.count])\u{1B}[30m\(text)\u{1B}[0m\u{1B}[2m\(id)\u{1B}[0m"
            }
            print(line)
            print("\(ids.count) tokens")
        } else {
            for id in ids {
                let text = try encoding.decode([id])
                let escaped = String(data: try JSONEncoder().encode(text), encoding: .utf8)!
                print("\(id)\t\(escaped)")
            }
        }
    }
}

struct Detokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn token ids back into text.",
        discussion: "Reads ids separated by spaces, commas or newlines, or a JSON array.")

    @OptionGroup var encodingOptions: EncodingOptions
    @Argument(help: "File of token ids; - or nothing reads standard input.") var file = "-"

    func run() throws {
        let encoding = try encodingOptions.load()
        let text = try Input.text(file)
        var ids: [Int] = []
        let separators: Set<Character> = [" ", "\t", "\n", "\r", "\r\n", ",", "[", "]"]
        for field in text.split(whereSeparator: separators.contains) {
            guard let id = Int(field) else { throw CommandError("\(file == "-" ? "standard input" : file): \"\(field)\" is not a token id") }
            ids.append(id)
        }
        FileHandle.standardOutput.write(Data(try encoding.decodeBytes(ids)))
    }
}
