// The book's chapter 2 numbers, checked against Python's `re` on the same text.

import Testing
import Tokenizers

@Suite("Simple tokenizers (book chapter 2)")
struct SimpleTokenizerTests {
    let g = Fixtures.goldens.simple

    @Test func verdictGivesTheBooksCounts() {
        let tokens = SimpleTokenizer.split(Fixtures.verdict)
        #expect(tokens.count == 4690)
        #expect(tokens.count == g.verdict_tokens)
        #expect(Array(tokens.prefix(30)) == g.first_tokens)
        #expect(SimpleTokenizer.vocabulary(from: Fixtures.verdict).count == 1130)
        #expect(SimpleTokenizerV2(trainingText: Fixtures.verdict).vocabulary.count == 1132)
    }

    @Test func v1RoundTripsAndRejectsUnknownWords() throws {
        let v1 = SimpleTokenizerV1(vocabulary: SimpleTokenizer.vocabulary(from: Fixtures.verdict))
        let text = #""It's the last he painted, you know," Mrs. Gisburn said with pardonable pride."#
        let ids = try v1.encode(text)
        #expect(ids == [1, 56, 2, 850, 988, 602, 533, 746, 5, 1126, 596, 5, 1, 67, 7, 38, 851, 1108, 754, 793, 7])
        #expect(try v1.decode(ids) == #"" It' s the last he painted, you know," Mrs. Gisburn said with pardonable pride."#)
        #expect(throws: TokenizerError.unknownWord("Hello")) { try v1.encode("Hello, do you like tea?") }
    }

    @Test func v2MapsUnknownWordsToUnk() throws {
        let v2 = SimpleTokenizerV2(trainingText: Fixtures.verdict)
        let ids = v2.encode(g.v2_text)
        #expect(ids == g.v2_ids)
        #expect(try v2.decode(ids) == g.v2_decoded)
        #expect(try v2.decode(ids) == "<|unk|>, do you like tea? <|endoftext|> In the sunlit terraces of the <|unk|>.")
    }
}
