// Cutting documents for a retrieval index: paragraphs and headings kept whole when they fit, long paragraphs packed
// sentence by sentence with an overlap of whole sentences, over-long sentences cut between words, and every chunk's
// byte offsets pointing at its text in the source.

import Foundation
import Inference
import Testing

@Suite("Text chunker")
struct TextChunkerTests {
    /// Tokens counted as words, so the expected cuts can be read off the text.
    static func words(_ s: String) -> Int { s.split(whereSeparator: { $0.isWhitespace }).count }

    static func offsetsPointAtTheText(_ chunks: [TextChunk], in text: String) -> Bool {
        let bytes = Array(text.utf8)
        return chunks.allSatisfy { String(decoding: bytes[$0.start..<$0.end], as: UTF8.self) == $0.text }
    }

    @Test("paragraphs and Markdown headings that fit are one chunk each")
    func paragraphs() {
        let text = "# Title\n\nFirst paragraph,\nacross two lines.\n\n\n## Part two\nSecond one.  \n"
        let chunks = TextChunker(maxTokens: 10, count: Self.words).chunks(text)
        #expect(chunks.map(\.text) == ["# Title", "First paragraph,\nacross two lines.", "## Part two", "Second one."])
        #expect(Self.offsetsPointAtTheText(chunks, in: text))
    }

    @Test("a long paragraph is packed sentence by sentence, with whole sentences shared up to the overlap")
    func sentences() {
        let text = "One two three. Four five six! Seven eight nine? Ten eleven twelve."
        let chunks = TextChunker(maxTokens: 7, overlap: 3, count: Self.words).chunks(text)
        #expect(chunks.map(\.text) == ["One two three. Four five six!", "Four five six! Seven eight nine?", "Seven eight nine? Ten eleven twelve."])
        #expect(Self.offsetsPointAtTheText(chunks, in: text))
        let plain = TextChunker(maxTokens: 7, count: Self.words).chunks(text)
        #expect(plain.map(\.text) == ["One two three. Four five six!", "Seven eight nine? Ten eleven twelve."])
        // CJK full stops end a sentence with no space after them (tokens counted as characters here).
        let japanese = "東京は大きい。大阪も大きい。"
        let cut = TextChunker(maxTokens: 8, count: { $0.count }).chunks(japanese)
        #expect(cut.map(\.text) == ["東京は大きい。", "大阪も大きい。"])
        #expect(Self.offsetsPointAtTheText(cut, in: japanese))
    }

    @Test("a sentence longer than a chunk is cut between words; nothing is lost")
    func longSentence() {
        let text = (1...23).map { "w\($0)" }.joined(separator: " ") + "."
        let chunks = TextChunker(maxTokens: 10, count: Self.words).chunks(text)
        #expect(chunks.map { Self.words($0.text) } == [10, 10, 3])
        #expect(chunks.map(\.text).joined(separator: " ") == text)
        #expect(Self.offsetsPointAtTheText(chunks, in: text))
        #expect(TextChunker(maxTokens: 4, count: Self.words).chunks(" \n\n  ").isEmpty)
    }
}
