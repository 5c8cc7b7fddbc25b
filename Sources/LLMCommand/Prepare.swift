// `llm prepare`: raw text files → one clean, deduplicated, tokenized corpus in a token file that
// `llm train --data FILE.tokens` memory-maps.
//
// Cleaning, per document: markup tags removed and the common HTML entities decoded, control
// characters other than newline and tab removed, line endings normalised, runs of blank lines cut to
// one. Empty documents and exact duplicates (after cleaning) are dropped; with --script, so are
// documents whose letters are mostly outside that script. Documents are joined with <|endoftext|>.

import ArgumentParser
import Foundation
import Tokenizers
import Training

struct Prepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Clean, deduplicate and tokenize text files into a token file for training.")

    @Option(name: .shortAndLong, help: "Token file to write (.tokens).") var output: String
    @Option(name: .shortAndLong, help: "Encoding: gpt2, cl100k_base, o200k_base or a .tiktoken file.") var encoding = "gpt2"
    @Flag(help: "Treat each blank-line-separated paragraph block of a file as its own document (default: one document per file).")
    var splitOnBlankLines = false
    @Option(help: "Keep only documents whose letters are mostly in this script: \(Script.allCases.map(\.rawValue).joined(separator: ", ")).")
    var script: Script?
    @Option(help: "Drop documents shorter than this many characters after cleaning.") var minCharacters = 1
    @Argument(help: "Text files.") var files: [String]

    enum Script: String, CaseIterable, ExpressibleByArgument {
        case latin, cyrillic, greek, arabic, devanagari, cjk
        func contains(_ v: UInt32) -> Bool {
            switch self {
            case .latin: return (0x41...0x24F).contains(v) || (0x1E00...0x1EFF).contains(v)
            case .cyrillic: return (0x400...0x52F).contains(v)
            case .greek: return (0x370...0x3FF).contains(v) || (0x1F00...0x1FFF).contains(v)
            case .arabic: return (0x600...0x6FF).contains(v) || (0x750...0x77F).contains(v)
            case .devanagari: return (0x900...0x97F).contains(v)
            case .cjk: return (0x3040...0x30FF).contains(v) || (0x4E00...0x9FFF).contains(v) || (0xAC00...0xD7A3).contains(v)
            }
        }
    }

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one text file") }
        guard output.hasSuffix(".tokens") else { throw ValidationError("--output must end in .tokens, got \(output)") }
        guard minCharacters >= 1 else { throw ValidationError("--min-characters must be at least 1") }
    }

    func run() throws {
        let enc = try Encoding.load(nameOrPath: encoding)
        guard let eot = enc.specialTokens["<|endoftext|>"] else { throw CommandError("\(encoding) has no <|endoftext|> to separate documents") }
        var documents: [String] = [], seen = Set<String>()
        var dropped = (empty: 0, duplicate: 0, script: 0)
        var total = 0
        for file in files {
            let text = try Input.text(file).replacingOccurrences(of: "\r\n", with: "\n")
            let raw = splitOnBlankLines ? text.components(separatedBy: "\n\n") : [text]
            for document in raw {
                total += 1
                let cleaned = Self.clean(document)
                if cleaned.count < minCharacters { dropped.empty += 1; continue }
                if let script, !Self.mostlyIn(script, cleaned) { dropped.script += 1; continue }
                if !seen.insert(cleaned).inserted { dropped.duplicate += 1; continue }
                documents.append(cleaned)
            }
        }
        guard !documents.isEmpty else { throw CommandError("no documents left after cleaning (\(total) read)") }
        // Tokenize in parallel, in chunks, with progress.
        var bar = ProgressBar(total: documents.count, label: "tokenizing")
        var tokens: [Int] = []
        let chunk = 256
        for start in stride(from: 0, to: documents.count, by: chunk) {
            let batch = Array(documents[start..<min(start + chunk, documents.count)])
            for ids in try enc.encodeBatch(batch) {
                if !tokens.isEmpty { tokens.append(eot) }
                tokens += ids
            }
            bar.update(min(start + chunk, documents.count))
        }
        try TokenFile.write(tokens, encoding: enc.name, to: output)
        printError("""
            \(documents.count) of \(total) documents kept (dropped: \(dropped.empty) empty or short, \(dropped.duplicate) duplicate, \
            \(dropped.script) other script); \(tokens.count.formatted()) tokens → \(output)
            """)
    }

    static func clean(_ text: String) -> String {
        var s = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        s = s.replacing(/<[^<>\n]{1,200}>/, with: "")                                  // markup tags
        for (entity, character) in [("&nbsp;", " "), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&amp;", "&")] {
            s = s.replacingOccurrences(of: entity, with: character)
        }
        s = String(String.UnicodeScalarView(s.unicodeScalars.filter { v in
            v == "\n" || v == "\t" || !(v.properties.generalCategory == .control || v.properties.generalCategory == .format && v.value != 0x200D)
        }))
        s = s.replacing(/\n[ \t]*\n(?:[ \t]*\n)+/, with: "\n\n")                          // one blank line at most
        return s.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func mostlyIn(_ script: Script, _ text: String) -> Bool {
        var letters = 0, inScript = 0
        for v in text.unicodeScalars where v.properties.isAlphabetic {
            letters += 1
            if script.contains(v.value) { inScript += 1 }
        }
        return letters > 0 && inScript * 2 > letters
    }
}
