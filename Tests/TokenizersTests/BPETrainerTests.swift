// The fast BPE trainer gives exactly the readable trainer's merges, and what it learns encodes and
// decodes text and survives a round trip through a .tiktoken file.

import Foundation
import Testing
import Tokenizers

@Suite("BPE training")
struct BPETrainerTests {
    @Test func fastTrainerEqualsReadableTrainer() {
        let texts = [Fixtures.verdict, String(Fixtures.corpus.prefix(30_000))]
        let readable = ReadableBPETrainer.train(texts: texts, vocabularySize: 256 + 300)
        let fast = BPETrainer.train(texts: texts, vocabularySize: 256 + 300)
        #expect(fast.merges.count == 300)
        #expect(fast.tokens == readable.tokens)
        #expect(fast.merges.map { [$0.0, $0.1] } == readable.merges.map { [$0.0, $0.1] })
    }

    @Test func stopsWhenThereIsNothingLeftToMerge() {
        let v = BPETrainer.train(texts: ["ab ab ab"], vocabularySize: 1000)
        #expect(v.tokens.count < 1000)
        #expect(v.tokens.contains(Array(" ab".utf8)))
    }

    @Test func trainedEncodingRoundTripsThroughATiktokenFile() throws {
        let vocab = BPETrainer.train(texts: [Fixtures.verdict], vocabularySize: 600)
        let e = vocab.encoding(name: "verdict600", specialTokens: ["<|endoftext|>"])
        let sample = "I had always thought Jack Gisburn rather a cheap genius. 中文 🙂"
        #expect(try e.decode(e.encodeOrdinary(sample)) == sample)
        #expect(e.encodeOrdinary(Fixtures.verdict).count < Fixtures.verdict.utf8.count / 2, "merges compress the text they came from")
        #expect(try e.encode("<|endoftext|>", allowedSpecial: .all) == [600])
        let text = EncodingFiles.tiktokenText(vocab.tokens)
        #expect(try EncodingFiles.parseTiktoken(Array(text.utf8), path: "x") == vocab.tokens.map { Optional($0) })
    }
}
