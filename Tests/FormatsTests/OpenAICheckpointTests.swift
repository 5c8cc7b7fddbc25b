// OpenAI's original GPT-2 files (TensorFlow checkpoint + hparams.json + encoder.json/vocab.bpe), read
// without TensorFlow: a tiny checkpoint written by TensorFlow itself gives the logits the book's own
// loading path gives (scripts/make_openai_checkpoint_goldens.py), and damaged files are refused by name.

import Formats
import Foundation
import Inference
import Models
import Tensors
import Testing
import Tokenizers

@Suite("OpenAI checkpoints")
struct OpenAICheckpointTests {
    struct Expected: Decodable {
        let ids: [[Int]]
        let logits: [[[Float]]]
    }

    func expected() throws -> Expected {
        let url = URL(fileURLWithPath: fixtureDirectory("openai-tiny") + "/expected-logits.json")
        return try JSONDecoder().decode(Expected.self, from: Data(contentsOf: url))
    }

    /// A copy of the fixture to damage.
    func copy() throws -> String {
        let path = NSTemporaryDirectory() + "openai-ckpt-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: fixtureDirectory("openai-tiny"), toPath: path)
        return path
    }

    @Test func logitsEqualTheBooksLoadingPath() throws {
        let directory = fixtureDirectory("openai-tiny")
        #expect(OpenAICheckpoint.isCheckpointDirectory(directory))
        let model = try Checkpoint.load(directory)
        #expect(model.config.vocabSize == 300 && model.config.contextLength == 32 && model.config.layers == 2)
        let fast = try InferenceModel(model)
        let e = try expected()
        for (ids, reference) in zip(e.ids, e.logits) {
            let ours = Autograd.withNoGrad { model(ids, batch: 1) }.scalars
            let flat = reference.flatMap { $0 }
            #expect(ours.count == flat.count)
            #expect(zip(ours, flat).map { abs($0 - $1) }.max()! < 1e-5)
            let served = fast.forward(tokens: ids, slots: Array(repeating: 0, count: ids.count), positions: Array(ids.indices),
                                      cache: KVSlots(slots: 1, config: model.config), logitsFor: Array(ids.indices))
            #expect(zip(served, flat).map { abs($0 - $1) }.max()! < 1e-5)
        }
    }

    @Test func aConvertedDirectoryHoldsTheSameModel() throws {
        let original = try Checkpoint.load(fixtureDirectory("openai-tiny"))
        let directory = NSTemporaryDirectory() + "openai-converted-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Checkpoint.save(original, to: directory)
        let converted = try Checkpoint.load(directory)
        #expect(converted.config == original.config)
        #expect(converted.parameters.map(\.scalars) == original.parameters.map(\.scalars))
    }

    @Test func theTokenizerFilesLoadWithTheirOwnEndOfText() throws {
        let directory = fixtureDirectory("openai-tiny")
        let encoding = try Encoding.gpt2(encoderJSON: directory + "/encoder.json", vocabBPE: directory + "/vocab.bpe")
        #expect(encoding.specialTokens["<|endoftext|>"] == 299)
        let ids = try encoding.encode("the cat<|endoftext|>", allowedSpecial: .all)
        #expect(ids.last == 299 && ids.allSatisfy { $0 < 300 })
        #expect(try encoding.decode(ids) == "the cat<|endoftext|>")
    }

    @Test func aFlippedByteInTheDataIsRefusedByItsChecksum() throws {
        #expect {
            _ = try Checkpoint.load(fixtureDirectory("openai-tiny-damaged"))
        } throws: { error in
            "\(error)".contains("CRC-32C") && "\(error)".contains("model/")
        }
    }

    @Test func damagedIndexesAndTruncatedDataAreRefused() throws {
        let directory = try copy()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let index = directory + "/model.ckpt.index", data = directory + "/model.ckpt.data-00000-of-00001"
        let original = try Data(contentsOf: URL(fileURLWithPath: index))
        let good = try Checkpoint.load(directory).parameters.map(\.scalars)
        // Every byte of the index flipped in turn: an error, never a crash or a different model. (Bytes nothing
        // reads — the metaindex block and its handle, the footer's padding — may change without effect.)
        var refused = 0
        for i in 0..<original.count {
            var damaged = original
            damaged[i] ^= 0x21
            try damaged.write(to: URL(fileURLWithPath: index))
            do {
                let model = try Checkpoint.load(directory)
                #expect(model.parameters.map(\.scalars) == good, "byte \(i) of \(original.count)")
            } catch is GPTError {
                refused += 1
            }
        }
        #expect(refused >= original.count - 48 - 13, "all but the footer and the empty metaindex block (8 bytes + trailer)")
        try original.write(to: URL(fileURLWithPath: index))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: data))
        try bytes.prefix(bytes.count - 100).write(to: URL(fileURLWithPath: data))
        #expect { _ = try Checkpoint.load(directory) } throws: { "\($0)".contains("incomplete") }
        try FileManager.default.removeItem(atPath: data)
        #expect { _ = try Checkpoint.load(directory) } throws: { "\($0)".contains("data-00000-of-00001") }
    }

    @Test func crc32cKnownValues() throws {
        // The check value of CRC-32C (RFC 3720) and a value across the 8-byte steps.
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        func bitwise(_ bytes: [UInt8]) -> UInt32 { // the definition, one bit at a time
            var crc: UInt32 = 0xFFFF_FFFF
            for b in bytes {
                crc ^= UInt32(b)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            }
            return ~crc
        }
        var generator = SeededGenerator(seed: 5)
        for n in [0, 1, 7, 8, 9, 1000, 4099] {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(CRC32C.checksum(bytes) == bitwise(bytes), "\(n) bytes")
        }
    }
}
