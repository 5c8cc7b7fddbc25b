// ggml's block types back to fp32: every type's dequantiser equals gguf-py's bit for bit on random blocks and
// on edge blocks (all zero, the largest fp16 scale, negative and subnormal scales). Goldens:
// scripts/make_ggml_block_goldens.py.

import CKernels
import Foundation
import Testing

@Suite("ggml block types")
struct GGMLBlockTests {
    struct Golden: Decodable {
        let type: UInt32
        let block_values: Int
        let block_bytes: Int
        let bytes: [UInt8]
        let values_bits: [UInt32]
    }

    static let goldens: [String: Golden] = {
        let url = Bundle.module.url(forResource: "ggml-blocks", withExtension: "json")!
        return try! JSONDecoder().decode([String: Golden].self, from: Data(contentsOf: url))
    }()

    @Test("every dequantiser equals gguf-py's, bit for bit", arguments: ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K",
                                                                         "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"])
    func bitExact(name: String) throws {
        let g = try #require(Self.goldens[name])
        var bytes = 0
        #expect(llm_ggml_block(g.type, &bytes) == g.block_values && bytes == g.block_bytes, "\(name): block layout")
        var out = [Float](repeating: .nan, count: g.values_bits.count)
        #expect(llm_ggml_dequantize(g.type, g.bytes, &out, out.count) == 0)
        let mismatches = zip(out.map(\.bitPattern), g.values_bits).enumerated().filter { $0.element.0 != $0.element.1 }
        #expect(mismatches.isEmpty, "\(name): \(mismatches.count) values differ, first at \(mismatches.first.map { "\($0.offset): \(out[$0.offset]) vs \(Float(bitPattern: $0.element.1))" } ?? "")")
    }

    @Test("types not read here, and counts that are not whole blocks, are refused")
    func refusals() {
        var out = [Float](repeating: 0, count: 256)
        let zeros = [UInt8](repeating: 0, count: 1024)
        for unknown: UInt32 in [4, 5, 9, 15, 16, 31, 36, 39, 99] { #expect(llm_ggml_block(unknown, nil) == 0, "type \(unknown)") }
        #expect(llm_ggml_dequantize(16, zeros, &out, 256) == -1)
        #expect(llm_ggml_dequantize(12, zeros, &out, 100) == -1) // Q4_K needs whole blocks of 256
        #expect(llm_ggml_dequantize(2, zeros, &out, 64) == 0)
    }
}
