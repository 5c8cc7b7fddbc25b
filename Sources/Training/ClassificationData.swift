// Labelled texts for classification fine-tuning (the book's chapter 6): reading CSV/TSV files,
// balancing classes by undersampling, seeded train/validation/test splits, and padded batches of
// token ids.
//
// CSV follows RFC 4180 (fields in double quotes may hold commas, newlines and doubled quotes); TSV is
// split on tabs with no quoting at all, which is how the SMS Spam Collection is written (its messages
// contain bare quote characters). Every error names the file and the line.

import Foundation
import Tensors
import Tokenizers

public struct LabeledText: Sendable, Equatable {
    public let label: String
    public let text: String
    /// Line of the file where the record starts (1-based), for error messages.
    public let line: Int

    public init(label: String, text: String, line: Int) {
        self.label = label
        self.text = text
        self.line = line
    }
}

public enum LabeledTextFile {
    /// A column by position (0-based) or by its header name.
    public enum Column: Sendable, Equatable {
        case index(Int), name(String)
    }

    /// Reads `path` (.tsv: tab-separated; otherwise comma-separated CSV). A header row is expected when
    /// a column is given by name, and recognised otherwise when its label cell reads "label".
    public static func read(_ path: String, labelColumn: Column = .index(0), textColumn: Column = .index(1)) throws -> [LabeledText] {
        guard let data = FileManager.default.contents(atPath: path) else { throw DatasetError(description: "\(path): cannot read it") }
        guard let text = String(data: data, encoding: .utf8) else { throw DatasetError(description: "\(path): not UTF-8 text") }
        let tabs = path.lowercased().hasSuffix(".tsv") || path.lowercased().hasSuffix(".tab")
        return try parse(text, path: path, separator: tabs ? "\t" : ",", quoted: !tabs,
                         labelColumn: labelColumn, textColumn: textColumn)
    }

    public static func parse(_ text: String, path: String, separator: Character, quoted: Bool,
                             labelColumn: Column, textColumn: Column) throws -> [LabeledText] {
        let rows = try quoted ? csvRows(text, path: path, separator: separator)
                              : plainRows(text, separator: separator)
        guard let first = rows.first else { throw DatasetError(description: "\(path): no rows") }
        let width = first.fields.count
        var header: [String]?
        func index(of column: Column) throws -> Int {
            switch column {
            case let .index(i):
                guard i >= 0 && i < width else {
                    throw DatasetError(description: "\(path):\(first.line): column \(i) does not exist (rows have \(width) columns)")
                }
                return i
            case let .name(name):
                guard let i = first.fields.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == name }) else {
                    throw DatasetError(description: "\(path):\(first.line): no column named \"\(name)\" in the header \(first.fields)")
                }
                header = first.fields
                return i
            }
        }
        let labelIndex = try index(of: labelColumn), textIndex = try index(of: textColumn)
        if header == nil, first.fields[labelIndex].trimmingCharacters(in: .whitespaces).lowercased() == "label" { header = first.fields }
        var examples: [LabeledText] = []
        for row in rows.dropFirst(header == nil ? 0 : 1) {
            guard row.fields.count == width else {
                throw DatasetError(description: "\(path):\(row.line): expected \(width) columns, found \(row.fields.count)")
            }
            let label = row.fields[labelIndex].trimmingCharacters(in: .whitespaces)
            let text = row.fields[textIndex]
            guard !label.isEmpty else { throw DatasetError(description: "\(path):\(row.line): the label is empty") }
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw DatasetError(description: "\(path):\(row.line): the text is empty")
            }
            examples.append(LabeledText(label: label, text: text, line: row.line))
        }
        guard !examples.isEmpty else { throw DatasetError(description: "\(path): no examples after the header") }
        return examples
    }

    /// Writes `examples` as CSV with a "label,text" header (the book saves its splits this way),
    /// quoting fields that need it; `read` gives them back.
    public static func writeCSV(_ examples: [LabeledText], to path: String) throws {
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) || s.isEmpty
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        let text = "label,text\n" + examples.map { field($0.label) + "," + field($0.text) + "\n" }.joined()
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    struct Row { let fields: [String]; let line: Int }

    /// Lines split on the separator; blank lines are skipped, a trailing "\r" is dropped.
    static func plainRows(_ text: String, separator: Character) -> [Row] {
        var rows: [Row] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.isEmpty { continue }
            rows.append(Row(fields: line.split(separator: separator, omittingEmptySubsequences: false).map(String.init), line: i + 1))
        }
        return rows
    }

    /// RFC 4180 rows: quoted fields may contain the separator, newlines and "" for a quote.
    static func csvRows(_ text: String, path: String, separator: Character) throws -> [Row] {
        var rows: [Row] = [], fields: [String] = [], field = ""
        var line = 1, rowStart = 1, inQuotes = false, quotedField = false
        var chars = Array(text.unicodeScalars).makeIterator()
        var pending: Unicode.Scalar? = nil
        func endRow() {
            fields.append(field)
            if !(fields.count == 1 && fields[0].isEmpty && !quotedField) { rows.append(Row(fields: fields, line: rowStart)) }
            fields = []; field = ""; quotedField = false
        }
        let sep = separator.unicodeScalars.first!
        while let c = pending ?? chars.next() {
            pending = nil
            if inQuotes {
                if c == "\"" {
                    let next = chars.next()
                    if next == "\"" { field.unicodeScalars.append("\"") } else { inQuotes = false; pending = next }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
            } else if c == "\"" && field.isEmpty {
                inQuotes = true
                quotedField = true
            } else if c == sep {
                fields.append(field); field = ""
            } else if c == "\r" {
                continue
            } else if c == "\n" {
                endRow()
                line += 1
                rowStart = line
            } else {
                field.unicodeScalars.append(c)
            }
        }
        guard !inQuotes else { throw DatasetError(description: "\(path):\(rowStart): a quoted field is never closed") }
        if !field.isEmpty || !fields.isEmpty || quotedField { endRow() }
        return rows
    }
}

public enum ClassificationData {
    /// Undersamples every class to the size of the rarest one (a seeded random choice), keeping the
    /// file order of what is kept. The book balances SMS spam this way: 747 ham + 747 spam.
    public static func balanced(_ examples: [LabeledText], seed: UInt64) -> [LabeledText] {
        let groups = Dictionary(grouping: examples.indices, by: { examples[$0].label })
        let smallest = groups.values.map(\.count).min() ?? 0
        var rng = SeededGenerator(seed: seed)
        var kept: [Int] = []
        for label in groups.keys.sorted() {
            var members = groups[label]!
            members.shuffle(using: &rng)
            kept += members.prefix(smallest)
        }
        return kept.sorted().map { examples[$0] }
    }

    /// The sorted distinct labels: class i is `labels[i]`.
    public static func labels(of examples: [LabeledText]) -> [String] { Array(Set(examples.map(\.label))).sorted() }
}

/// Shuffles `items` with `seed` and cuts them into consecutive parts: the first parts take
/// floor(fraction × count) items each, the last part the rest (book: 70 % / 10 % / the rest).
public func seededSplit<T>(_ items: [T], fractions: [Double], seed: UInt64) -> [[T]] {
    var shuffled = items
    var rng = SeededGenerator(seed: seed)
    shuffled.shuffle(using: &rng)
    var parts: [[T]] = [], start = 0
    for f in fractions {
        let n = min(Int((Double(items.count) * f).rounded(.down)), items.count - start)
        parts.append(Array(shuffled[start..<(start + n)]))
        start += n
    }
    parts.append(Array(shuffled[start...]))
    return parts
}

public struct ClassificationBatch: Sendable {
    /// (B, T) row-major, each text followed by padding.
    public let ids: [Int]
    public let batchSize: Int
    public let length: Int
    /// Tokens of each text before its padding.
    public let lengths: [Int]
    /// Class index of each text.
    public let labels: [Int]
    /// Each text's position in its dataset.
    public let indices: [Int]
}

/// Texts as token ids with class indices, cut into batches padded to their longest text.
public struct ClassificationDataset: Sendable {
    public let ids: [[Int]]
    public let labels: [Int]

    /// Encodes `examples` with `encoding`, keeping at most `maxLength` tokens of each (the first ones).
    /// Every label must be one of `classes`.
    public init(_ examples: [LabeledText], classes: [String], encoding: Encoding, maxLength: Int, path: String) throws {
        // Special-token text ("<|endoftext|>" typed in a message) is read as plain text.
        try self.init(examples, classes: classes, path: path) { Array(encoding.encodeOrdinary($0).prefix(maxLength)) }
    }

    /// Encodes `examples` with `tokenize` (which also truncates: a BERT keeps [SEP] at the end of a cut text).
    public init(_ examples: [LabeledText], classes: [String], path: String, tokenize: (String) -> [Int]) throws {
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($0.element, $0.offset) })
        labels = try examples.map { e in
            guard let i = index[e.label] else {
                throw DatasetError(description: "\(path):\(e.line): the label \"\(e.label)\" does not occur in the training split (\(classes.joined(separator: ", ")))")
            }
            return i
        }
        ids = examples.map { tokenize($0.text) }
        if let empty = ids.firstIndex(where: \.isEmpty) {
            throw DatasetError(description: "\(path):\(examples[empty].line): the text encodes to no tokens")
        }
    }

    public init(ids: [[Int]], labels: [Int]) {
        self.ids = ids
        self.labels = labels
    }

    public var count: Int { ids.count }

    /// Batches in order, shuffled with `seed` (a different order per epoch), or `byLength` (shortest
    /// texts first: least padding, for evaluation, where the order does not matter). Each batch is
    /// padded with `padTokenId` to its own longest text: the classifier reads each text's last real
    /// token, so the amount of padding does not change any result, and short batches cost less.
    public func batches(size: Int, shuffle: Bool = false, byLength: Bool = false, dropLast: Bool = false, seed: UInt64 = 0,
                        epoch: Int = 0, padTokenId: Int = 50256) -> [ClassificationBatch] {
        let order = byLength ? (0..<count).sorted { (ids[$0].count, $0) < (ids[$1].count, $1) }
                             : epochOrder(count, shuffle: shuffle, seed: seed, epoch: epoch)
        return batchMembers(order, size: size, dropLast: dropLast).map { members in
            let t = members.map { ids[$0].count }.max()!
            return ClassificationBatch(ids: members.flatMap { ids[$0] + Array(repeating: padTokenId, count: t - ids[$0].count) },
                                       batchSize: members.count, length: t, lengths: members.map { ids[$0].count },
                                       labels: members.map { labels[$0] }, indices: Array(members))
        }
    }
}
