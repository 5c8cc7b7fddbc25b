// Token-for-token parity with tiktoken on a 1.5 MB corpus made to stress the split patterns (see
// scripts/make_tokenizer_goldens.py), and decode(encode(s)) == s on random Unicode strings.

import Testing
import Tokenizers

@Suite("Parity with tiktoken")
struct ParityTests {
    @Test("corpus ids equal tiktoken's", arguments: ["gpt2", "cl100k_base", "o200k_base"])
    func corpus(_ name: String) throws {
        let e = try Encoding.named(name)
        let expected = Fixtures.corpusIDs(name)
        #expect(expected.count == Fixtures.goldens.corpus_tokens[name])
        let ids = e.encodeOrdinary(Fixtures.corpus)
        if ids != expected {
            let first = zip(ids, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(ids.count, expected.count)
            let context = try e.decode(Array(expected[max(0, first - 5)..<min(expected.count, first + 5)]))
            Issue.record("\(name): first difference at token \(first) of \(expected.count) (ours \(ids.count) tokens), near \(context.debugDescription)")
        }
        #expect(try e.decode(expected) == Fixtures.corpus)
    }

    @Test("decode(encode(s)) == s for random Unicode", arguments: ["gpt2", "cl100k_base", "o200k_base"])
    func roundTrip(_ name: String) throws {
        let e = try Encoding.named(name)
        var state: UInt64 = 0x1234_5678
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        let pools: [ClosedRange<UInt32>] = [0x20...0x7E, 0x0A...0x0D, 0xA0...0x24F, 0x300...0x36F, 0x600...0x6FF,
                                            0x900...0x97F, 0x3000...0x30FF, 0x4E00...0x9FFF, 0xAC00...0xD7A3, 0x1F300...0x1FAFF,
                                            0x2000...0x206F, 0x10000...0x1FFFF]
        for _ in 0..<300 {
            var s = String.UnicodeScalarView()
            for _ in 0..<Int(next() % 60) {
                let pool = pools[Int(next() % UInt64(pools.count))]
                if let scalar = Unicode.Scalar(pool.lowerBound + UInt32(next() % UInt64(pool.count))) { s.append(scalar) }
            }
            let text = String(s)
            #expect(try e.decode(e.encodeOrdinary(text)) == text)
        }
    }

    @Test func batchEncodingEqualsOneByOne() throws {
        let e = try Encoding.named("cl100k_base")
        let texts = Fixtures.corpus.split(separator: "\n").prefix(2000).map(String.init)
        #expect(try e.encodeBatch(texts, allowedSpecial: .all) == texts.map { try e.encode($0, allowedSpecial: .all) })
    }
}
