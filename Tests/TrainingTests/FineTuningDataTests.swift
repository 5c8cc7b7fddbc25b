// Fine-tuning data: CSV/TSV reading and its errors, balancing, seeded splits, padded classification
// batches, the Alpaca prompt, the book's instruction batches (exact tensors), JSON/JSONL records.

import Foundation
import Testing
import Tensors
import Tokenizers
import Training

@Suite("Fine-tuning data")
struct FineTuningDataTests {
    func temporaryFile(_ name: String, _ contents: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID())-\(name)").path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func error(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return "no error"
    }

    @Test func csvQuotingAndHeaders() throws {
        let csv = "Label,Text\nspam,\"Win, now\"\"!\"\"\"\nham,\"two\nlines\"\r\nham,plain\n"
        let rows = try LabeledTextFile.parse(csv, path: "x.csv", separator: ",", quoted: true, labelColumn: .index(0), textColumn: .index(1))
        #expect(rows == [LabeledText(label: "spam", text: "Win, now\"!\"", line: 2),
                         LabeledText(label: "ham", text: "two\nlines", line: 3),
                         LabeledText(label: "ham", text: "plain", line: 5)])
        let byName = try LabeledTextFile.parse("text,category\nhello,a\nbye,b\n", path: "y.csv", separator: ",", quoted: true,
                                               labelColumn: .name("category"), textColumn: .name("text"))
        #expect(byName.map(\.label) == ["a", "b"] && byName.map(\.text) == ["hello", "bye"])
    }

    @Test func csvWrittenReadsBack() throws {
        let examples = [LabeledText(label: "spam", text: "Win, now \"free\"", line: 2), LabeledText(label: "ham", text: "two\nlines", line: 3),
                        LabeledText(label: "ham", text: "plain", line: 5)]
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID()).csv").path
        try LabeledTextFile.writeCSV(examples, to: path)
        #expect(try LabeledTextFile.read(path) == examples)
    }

    @Test func tsvHasNoQuoting() throws {
        let path = try temporaryFile("sms.tsv", "ham\t\"Ok\" lar...\nspam\tFree entry\n\nham\tbye\n")
        let rows = try LabeledTextFile.read(path)
        #expect(rows.map(\.text) == ["\"Ok\" lar...", "Free entry", "bye"])
        #expect(rows.map(\.line) == [1, 2, 4])
    }

    @Test func badRowsNameFileAndLine() throws {
        let wrongColumns = try temporaryFile("a.tsv", "ham\thello\nspam\tone\ttwo\n")
        #expect(error { _ = try LabeledTextFile.read(wrongColumns) } == "\(wrongColumns):2: expected 2 columns, found 3")
        let emptyText = try temporaryFile("b.csv", "ham,hello\nspam,  \n")
        #expect(error { _ = try LabeledTextFile.read(emptyText) } == "\(emptyText):2: the text is empty")
        let unclosed = try temporaryFile("c.csv", "ham,hello\nspam,\"never closed\n")
        #expect(error { _ = try LabeledTextFile.read(unclosed) } == "\(unclosed):2: a quoted field is never closed")
        let noColumn = try temporaryFile("d.csv", "label,text\nham,hi\n")
        #expect(error { _ = try LabeledTextFile.read(noColumn, textColumn: .name("message")) }.contains("no column named \"message\""))
        #expect(error { _ = try LabeledTextFile.read("/nonexistent/file.tsv") } == "/nonexistent/file.tsv: cannot read it")
    }

    @Test func balanceAndSplit() throws {
        let examples = (0..<100).map { LabeledText(label: $0 < 80 ? "ham" : "spam", text: "t\($0)", line: $0 + 1) }
        let balanced = ClassificationData.balanced(examples, seed: 1)
        #expect(balanced.filter { $0.label == "ham" }.count == 20 && balanced.filter { $0.label == "spam" }.count == 20)
        #expect(ClassificationData.balanced(examples, seed: 1) == balanced, "seeded")
        let parts = seededSplit(balanced, fractions: [0.7, 0.1], seed: 2)
        #expect(parts.map(\.count) == [28, 4, 8])
        #expect(Set(parts.flatMap { $0 }.map(\.text)) == Set(balanced.map(\.text)), "every example in exactly one split")
        #expect(seededSplit(balanced, fractions: [0.7, 0.1], seed: 2).map { $0.map(\.text) } == parts.map { $0.map(\.text) })
        #expect(seededSplit(balanced, fractions: [0.7, 0.1], seed: 3).map { $0.map(\.text) } != parts.map { $0.map(\.text) })
    }

    @Test func classificationBatchesArePaddedPerBatch() throws {
        let encoding = try Encoding.named("gpt2")
        let examples = [LabeledText(label: "spam", text: "Free prize now", line: 1), LabeledText(label: "ham", text: "ok", line: 2),
                        LabeledText(label: "ham", text: "See you at the station at seven", line: 3)]
        let data = try ClassificationDataset(examples, classes: ["ham", "spam"], encoding: encoding, maxLength: 5, path: "f")
        #expect(data.labels == [1, 0, 0])
        #expect(data.ids[2].count == 5, "truncated to the first 5 tokens")
        let batches = data.batches(size: 2)
        #expect(batches.map(\.batchSize) == [2, 1])
        let first = batches[0]
        let free = encoding.encodeOrdinary("Free prize now"), ok = encoding.encodeOrdinary("ok")
        #expect(first.length == free.count && first.lengths == [free.count, ok.count])
        #expect(first.ids == free + ok + Array(repeating: 50256, count: free.count - ok.count))
        // A label the training split never saw.
        let unseen = [LabeledText(label: "other", text: "x", line: 9)]
        #expect(error { _ = try ClassificationDataset(unseen, classes: ["ham", "spam"], encoding: encoding, maxLength: 5, path: "f.tsv") }
                == "f.tsv:9: the label \"other\" does not occur in the training split (ham, spam)")
    }

    @Test func alpacaPrompt() {
        let withInput = InstructionExample(instruction: "Identify the correct spelling of the following word.", input: "Ocassion", output: "Occasion")
        #expect(withInput.prompt == """
            Below is an instruction that describes a task. Write a response that appropriately completes the request.

            ### Instruction:
            Identify the correct spelling of the following word.

            ### Input:
            Ocassion
            """)
        let without = InstructionExample(instruction: "Name a color.", input: "", output: "Blue.")
        #expect(without.promptWithResponseHeader == """
            Below is an instruction that describes a task. Write a response that appropriately completes the request.

            ### Instruction:
            Name a color.

            ### Response:

            """)
    }

    /// The book's own example for its custom_collate_fn.
    @Test func bookCollate() {
        let batch = InstructionDataset.collate([[0, 1, 2, 3, 4], [5, 6], [7, 8, 9]])
        let p = 50256, x = -100
        #expect(batch.batchSize == 3 && batch.length == 5)
        #expect(batch.inputs == [0, 1, 2, 3, 4, 5, 6, p, p, p, 7, 8, 9, p, p])
        #expect(batch.targets == [1, 2, 3, 4, p, 6, p, x, x, x, 8, 9, p, x, x])
    }

    @Test func collateMasksPromptsAndTruncates() {
        let p = 50256, x = -100
        // prompt lengths 3 and 1: targets that predict prompt tokens (positions 0..<2 and none) are ignored
        let masked = InstructionDataset.collate([[10, 11, 12, 13, 14], [20, 21]], promptLengths: [3, 1])
        #expect(masked.targets == [x, x, 13, 14, p, 21, p, x, x, x])
        let cut = InstructionDataset.collate([[0, 1, 2, 3, 4], [5, 6]], maxLength: 3)
        #expect(cut.length == 3)
        #expect(cut.inputs == [0, 1, 2, 5, 6, p] && cut.targets == [1, 2, 3, 6, p, x])
        // Through the dataset: the prompt boundary is where the response header ends.
        let encoding = try! Encoding.named("gpt2")
        let example = InstructionExample(instruction: "Say hi.", input: "", output: "Hi!")
        let data = InstructionDataset([example], encoding: encoding)
        let prompt = encoding.encodeOrdinary(example.promptWithResponseHeader)
        #expect(data.sequences[0] == prompt + encoding.encodeOrdinary("Hi!"))
        #expect(data.sequences[0] == encoding.encodeOrdinary(example.promptWithResponseHeader + "Hi!"), "same tokens as the joined text")
        let b = data.batches(size: 1, maskPrompt: true)[0]
        #expect(b.targets.filter { $0 != x } == encoding.encodeOrdinary("Hi!") + [p])
    }

    @Test func instructionFiles() throws {
        let array = try temporaryFile("d.json", """
            [
                {"instruction": "A", "input": "", "output": "a"},
                {
                    "instruction": "B {with braces}", "input": "x", "output": "b"
                }
            ]
            """)
        let records = try InstructionFile.read(array)
        #expect(records.map(\.instruction) == ["A", "B {with braces}"] && records.map(\.line) == [2, 3])
        let lines = try temporaryFile("d.jsonl", "{\"instruction\": \"A\", \"input\": \"\", \"output\": \"a\"}\n\n{\"instruction\": \"B\", \"output\": \"b\"}\n")
        #expect(error { _ = try InstructionFile.read(lines) } == "\(lines):3: the record has no \"input\" (needs instruction, input, output)")
        let broken = try temporaryFile("e.json", "[{\"instruction\": \"A\"")
        #expect(error { _ = try InstructionFile.read(broken) } == "\(broken): not valid JSON")
        let missing = try temporaryFile("f.json", "[\n{\"instruction\": \"A\", \"input\": \"\", \"output\": \"a\"},\n{\"instruction\": \"B\", \"input\": \"\"}\n]")
        #expect(error { _ = try InstructionFile.read(missing) } == "\(missing):3: the record has no \"output\" (needs instruction, input, output)")
    }
}
