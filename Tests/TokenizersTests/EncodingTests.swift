// Byte-level BPE against tiktoken: examples, special-token policy, decoding, files and errors.

import Foundation
import Testing
import Tokenizers

@Suite("Byte-level BPE")
struct EncodingTests {
    @Test func theIssuesExamples() throws {
        let gpt2 = try Encoding.named("gpt2")
        let text = "Hello, do you like tea? <|endoftext|> In the sunlit terraces of someunknownPlace."
        #expect(try gpt2.encode(text, allowedSpecial: .all) ==
            [15496, 11, 466, 345, 588, 8887, 30, 220, 50256, 554, 262, 4252, 18250, 8812, 2114, 286, 617, 34680, 27271, 13])
        let verdict = gpt2.encodeOrdinary(Fixtures.verdict)
        #expect(verdict.count == 5145)
        #expect(Array(verdict.prefix(4)) == [40, 367, 2885, 1464])
        #expect(verdict == Fixtures.goldens.verdict_gpt2)
    }

    @Test("encode with special tokens", arguments: Fixtures.goldens.encode)
    func encodeCases(_ c: TokenizerGoldens.EncodeCase) throws {
        let e = try Encoding.named(c.encoding)
        let ids = c.allowed == "all" ? try e.encode(c.text, allowedSpecial: .all) : e.encodeOrdinary(c.text)
        #expect(ids == c.ids)
    }

    @Test func specialTokensAreRefusedUnlessAllowed() throws {
        let e = try Encoding.named("cl100k_base")
        #expect(throws: TokenizerError.disallowedSpecialToken("<|endoftext|>")) { try e.encode("a <|endoftext|> b") }
        #expect(throws: TokenizerError.disallowedSpecialToken("<|fim_prefix|>")) {
            try e.encode("<|endoftext|><|fim_prefix|>", allowedSpecial: .some(["<|endoftext|>"]))
        }
        #expect(try e.encode("<|endoftext|>", allowedSpecial: .some(["<|endoftext|>"])) == [100257])
        #expect(try e.encode("no specials here") == e.encodeOrdinary("no specials here"))
        let message = TokenizerError.disallowedSpecialToken("<|endoftext|>").description
        #expect(message.contains("<|endoftext|>") && message.contains("allowedSpecial"))
    }

    @Test("decode, including invalid UTF-8", arguments: Fixtures.goldens.decode)
    func decodeCases(_ c: TokenizerGoldens.DecodeCase) throws {
        let e = try Encoding.named(c.encoding)
        #expect(try e.decodeBytes(c.ids) == c.bytes)
        #expect(try e.decode(c.ids) == c.text)
    }

    @Test func vocabularyAndSingleTokens() throws {
        #expect(try Encoding.named("gpt2").vocabularySize == 50257)
        #expect(try Encoding.named("cl100k_base").vocabularySize == 100277)
        #expect(try Encoding.named("o200k_base").vocabularySize == 200019)
        let gpt2 = try Encoding.named("gpt2")
        #expect(gpt2.bytes(ofToken: 15496) == Array("Hello".utf8))
        #expect(gpt2.token(forBytes: Array(" the".utf8)) == 262)
        #expect(gpt2.token(forBytes: Array("<|endoftext|>".utf8)) == 50256)
        #expect(gpt2.bytes(ofToken: 60000) == nil)
        #expect(throws: TokenizerError.unknownToken(60000, vocabularySize: 50257)) { try gpt2.decode([60000]) }
    }

    @Test func streamingDecoderNeverSplitsACharacter() throws {
        let gpt2 = try Encoding.named("gpt2")
        let text = "Emoji 🧑🏿‍💻 and 中文 and é in a stream."
        var decoder = StreamingDecoder(encoding: gpt2)
        var pieces: [String] = []
        for id in gpt2.encodeOrdinary(text) { pieces.append(try decoder.add(id)) }
        pieces.append(decoder.finish())
        #expect(pieces.joined() == text)
        #expect(!pieces.joined().contains("\u{FFFD}"))
        var broken = StreamingDecoder(encoding: gpt2)
        #expect(try broken.add(8582) == "") // the first bytes of a character wait
        #expect(broken.finish() == "\u{FFFD}")
    }

    @Test func gpt2FromEncoderJSONAndVocabBPEEqualsTheTiktokenFile() throws {
        let fromDataGym = try Encoding.gpt2(encoderJSON: Fixtures.url("gpt2-encoder", "json").path,
                                            vocabBPE: Fixtures.url("gpt2-vocab", "bpe").path)
        let builtin = try Encoding.named("gpt2")
        for id in [0, 255, 256, 1000, 30000, 50255] { #expect(fromDataGym.bytes(ofToken: id) == builtin.bytes(ofToken: id)) }
        let sample = String(Fixtures.corpus.prefix(50_000))
        #expect(fromDataGym.encodeOrdinary(sample) == builtin.encodeOrdinary(sample))
    }

    @Test func gpt2FromHuggingFaceTokenizerJSON() throws {
        // Made by Hugging Face `tokenizers` from the same vocabulary (see DATA-NOTICE.md).
        let e = try Encoding.gpt2(tokenizerJSON: Fixtures.url("gpt2-tokenizer", "json").path)
        let sample = String(Fixtures.corpus.prefix(30_000))
        #expect(e.encodeOrdinary(sample) == (try Encoding.named("gpt2")).encodeOrdinary(sample))
        #expect(e.encodeOrdinary("Hello, do you like tea? In the sunlit terraces of someunknownPlace.") ==
            [15496, 11, 466, 345, 588, 8887, 30, 554, 262, 4252, 18250, 8812, 2114, 286, 617, 34680, 27271, 13])
    }

    @Test func corruptFilesGiveClearErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llm-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func load(_ text: String) throws -> Encoding {
            let path = dir.appendingPathComponent("bad.tiktoken").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return try Encoding.load(nameOrPath: path)
        }
        #expect(throws: TokenizerError.invalidFile(path: dir.appendingPathComponent("bad.tiktoken").path, line: 2,
                                                   reason: "\"!!!\" is not a base64 token")) { try load("YQ== 0\n!!! 1\n") }
        #expect(throws: TokenizerError.self) { try load("YQ== 0\nYg== 0\n") }     // duplicate rank
        #expect(throws: TokenizerError.self) { try load("YQ== 0\nYQ== 1\n") }     // duplicate token
        #expect(throws: TokenizerError.self) { try load("YQ== x\n") }            // bad rank
        #expect(throws: TokenizerError.unknownEncoding("gpt5")) { try Encoding.load(nameOrPath: "gpt5") }
        // A file whose sha256 does not match the one expected for its name.
        let path = dir.appendingPathComponent("r50k.tiktoken").path
        try "YQ== 0\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: TokenizerError.self) {
            try Encoding.load(tiktokenFile: path, name: "r50k_base", preTokenizer: .r50k, specialTokens: nil,
                              expectedSHA256: "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930")
        }
        // A small valid file works, with <|endoftext|> after the last rank.
        let tiny = try load("YQ== 0\nYg== 1\nYWI= 2\n")
        #expect(tiny.encodeOrdinary("abab") == [2, 2])
        #expect(tiny.specialTokens == ["<|endoftext|>": 3])
    }

    @Test func sha256KnownDigests() {
        #expect(SHA256.hex(Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array(repeating: UInt8(ascii: "a"), count: 1000)) ==
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        // Fed in pieces of every size (as a download arrives), the same digest.
        let data = Array(repeating: UInt8(ascii: "a"), count: 1000)
        for piece in [1, 7, 63, 64, 65, 999] {
            var hasher = SHA256.Hasher()
            for start in stride(from: 0, to: data.count, by: piece) { hasher.update(Array(data[start..<min(start + piece, data.count)])) }
            #expect(SHA256.hexDigits(hasher.finalize()) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3", "pieces of \(piece)")
        }
    }
}
