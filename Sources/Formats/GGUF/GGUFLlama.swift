// The Llama 3 and Qwen3 families in GGUF, with llama.cpp's names and conventions, so the files we write run in
// llama.cpp unchanged and files its converter (convert_hf_to_gguf.py) writes run here:
//
//   token_embd.weight [C, V]            output_norm.weight [C]          output.weight [C, V] (untied only)
//   blk.N.attn_norm.weight [C]          blk.N.attn_q.weight [C, H·hd]   blk.N.attn_k / attn_v.weight [C, K·hd]
//   blk.N.attn_output.weight [H·hd, C]  blk.N.attn_{q,k,v,output}.bias (attention_bias)
//   blk.N.attn_q_norm / attn_k_norm.weight [hd]  (Qwen3)
//   blk.N.ffn_norm.weight [C]           blk.N.ffn_gate / ffn_up.weight [C, I]    blk.N.ffn_down.weight [I, C]
//   rope_freqs.weight [hd/2]            Llama 3's frequency scaling, as divisors of each θ_i
//
// Metadata ARCH.{context_length, embedding_length, feed_forward_length, block_count, attention.head_count,
// attention.head_count_kv, attention.key_length, attention.value_length, attention.layer_norm_rms_epsilon,
// rope.freq_base, rope.dimension_count} with ARCH = llama or qwen3, and the tokenizer (tokenizer.ggml.pre =
// llama-bpe or qwen2).
//
// One convention differs by family: llama.cpp rotates a Llama head's dimensions in adjacent pairs (0,1), (2,3) …
// where Hugging Face pairs i with i + hd/2, so the converter reorders the rows of attn_q and attn_k within each
// head (row k·hd/2 + j goes to 2j + k); Qwen3 keeps Hugging Face's pairing. We reorder on the way out and back.

import Foundation
import Inference
import Models
import NN
import Tokenizers

extension InferenceModel {
    /// Writes this Llama or Qwen3 model (matrices as stored now) and `encoding` as a GGUF v3 file.
    func writeLlamaFamilyGGUF(to path: String, encoding: Encoding, name: String, progress: (Int, Int) -> Void) throws {
        let arch = config.architecture.rawValue, c = config.embeddingSize, hd = config.headDimension
        let q = config.heads * hd, kv = config.keyValueHeads * hd, ff = config.feedForwardSize
        let reorder = config.architecture == .llama
        var tensors: [GGUF.OutputTensor] = []
        func floats(_ name: String, _ values: [Float]) {
            let storage = RawStorage(byteCount: values.count * 4)
            values.withUnsafeBytes { storage.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            tensors.append(GGUF.OutputTensor(name: name, dimensions: [values.count], type: 0,
                                             bytes: UnsafeRawBufferPointer(start: storage.pointer, count: storage.byteCount), owner: storage))
        }
        func matrix(_ name: String, _ w: WeightMatrix) throws {
            let w = try w.converted(to: w.type) // (n, k) rows, as GGUF stores them
            tensors.append(GGUF.OutputTensor(name: name, dimensions: [w.inputs, w.outputs], type: w.type.ggmlType,
                                             bytes: UnsafeRawBufferPointer(start: w.base, count: w.byteCount), owner: w))
        }
        try matrix("token_embd.weight", tokenEmbedding)
        for (i, b) in blocks.enumerated() {
            let p = "blk.\(i)."
            let qkv = try b.qkv.converted(to: b.qkv.type)
            floats(p + "attn_norm.weight", b.norm1.weight)
            try matrix(p + "attn_q.weight", reorder ? Self.pairAdjacent(qkv.rows(0..<q), heads: config.heads) : qkv.rows(0..<q))
            try matrix(p + "attn_k.weight", reorder ? Self.pairAdjacent(qkv.rows(q..<(q + kv)), heads: config.keyValueHeads)
                                                    : qkv.rows(q..<(q + kv)))
            try matrix(p + "attn_v.weight", qkv.rows((q + kv)..<(q + 2 * kv)))
            try matrix(p + "attn_output.weight", b.projection)
            if let bias = b.qkvBias {
                floats(p + "attn_q.bias", reorder ? Self.pairAdjacent(Array(bias[0..<q]), heads: config.heads) : Array(bias[0..<q]))
                floats(p + "attn_k.bias", reorder ? Self.pairAdjacent(Array(bias[q..<(q + kv)]), heads: config.keyValueHeads)
                                                  : Array(bias[q..<(q + kv)]))
                floats(p + "attn_v.bias", Array(bias[(q + kv)...]))
            }
            if let bias = b.projectionBias { floats(p + "attn_output.bias", bias) }
            if let w = b.queryNorm { floats(p + "attn_q_norm.weight", w) }
            if let w = b.keyNorm { floats(p + "attn_k_norm.weight", w) }
            floats(p + "ffn_norm.weight", b.norm2.weight)
            let gateUp = try b.expand.converted(to: b.expand.type)
            try matrix(p + "ffn_gate.weight", gateUp.rows(0..<ff))
            try matrix(p + "ffn_up.weight", gateUp.rows(ff..<(2 * ff)))
            try matrix(p + "ffn_down.weight", b.contract)
        }
        floats("output_norm.weight", finalNorm.weight)
        if !tied { try matrix("output.weight", head) }
        // Llama 3's scaled frequencies (from config.json, or from a GGUF file's own rope_freqs): llama.cpp divides
        // each θ_i by its factor.
        let plain = RotaryEmbedding(headDimension: hd, base: config.ropeTheta).frequencies
        if let rotary, rotary.frequencies != plain {
            floats("rope_freqs.weight", zip(plain, rotary.frequencies).map { Float($0 / $1) })
        }
        let body = blocks.first?.qkv.type ?? .f32
        var metadata: [(String, GGUF.Value)] = [
            ("general.architecture", .string(arch)),
            ("general.name", .string(name)),
            ("general.file_type", .u32(Self.fileType(body))),
            ("\(arch).context_length", .u32(UInt32(config.contextLength))),
            ("\(arch).embedding_length", .u32(UInt32(c))),
            ("\(arch).feed_forward_length", .u32(UInt32(ff))),
            ("\(arch).block_count", .u32(UInt32(config.layers))),
            ("\(arch).attention.head_count", .u32(UInt32(config.heads))),
            ("\(arch).attention.head_count_kv", .u32(UInt32(config.keyValueHeads))),
            ("\(arch).attention.key_length", .u32(UInt32(hd))),
            ("\(arch).attention.value_length", .u32(UInt32(hd))),
            ("\(arch).attention.layer_norm_rms_epsilon", .f32(config.layerNormEpsilon)),
            ("\(arch).rope.freq_base", .f32(Float(config.ropeTheta))),
            ("\(arch).rope.dimension_count", .u32(UInt32(hd))),
        ] + (try tokenizerMetadata(encoding))
        if body == .q8_0 { metadata.insert(("general.quantization_version", .u32(2)), at: 3) }
        try GGUF.write(metadata: metadata, tensors: tensors, to: path, progress: progress)
    }

    /// A Llama or Qwen3 GGUF file (ours, or llama.cpp's converter's). Matrices keep their stored type; q, k, v and
    /// gate, up are stacked (a copy), and a Llama's q and k rows put back in Hugging Face's order.
    static func loadLlamaFamily(_ file: GGUF.File, path: String) throws -> InferenceModel {
        func fail(_ m: String) -> GGUFError { GGUFError(description: "\(path): \(m)") }
        let arch = file.metadata["general.architecture"]?.string ?? ""
        let family = GPTConfig.Architecture(rawValue: arch)!
        func int(_ key: String, default value: Int? = nil) throws -> Int {
            guard let v = file.metadata["\(arch).\(key)"]?.int ?? value, v > 0, v < 1 << 31 else {
                throw fail("metadata \(arch).\(key) is missing or not a positive integer")
            }
            return v
        }
        guard let embedding = file.tensor("token_embd.weight"), embedding.dimensions.count == 2 else {
            throw fail("tensor token_embd.weight is missing or not 2-D")
        }
        let c = try int("embedding_length"), heads = try int("attention.head_count")
        let hd = try int("attention.key_length", default: c / max(heads, 1))
        var config = GPTConfig.llamaFamily(family, vocabSize: embedding.dimensions[1], contextLength: try int("context_length"),
                                           embeddingSize: c, intermediateSize: try int("feed_forward_length"),
                                           layers: try int("block_count"), heads: heads,
                                           keyValueHeads: try int("attention.head_count_kv", default: heads),
                                           headDimension: hd == c / heads ? nil : hd,
                                           ropeTheta: file.metadata["\(arch).rope.freq_base"]?.float ?? 10_000,
                                           epsilon: Float(file.metadata["\(arch).attention.layer_norm_rms_epsilon"]?.float ?? 1e-5),
                                           tied: file.tensor("output.weight") == nil)
        if let eos = file.metadata["tokenizer.ggml.eos_token_id"]?.int { config.endTokenIds = [eos] }
        do { try config.validate() } catch { throw fail("\(error)") }
        guard config.layers * 9 <= file.tensors.count else { // every block has at least nine tensors
            throw fail("\(arch).block_count is \(config.layers), but the file holds only \(file.tensors.count) tensors")
        }
        let q = heads * hd, kv = config.keyValueHeads * hd, ff = config.feedForwardSize
        let tensors = GGUFTensors(file: file, path: path)
        func matrix(_ name: String, outputs n: Int, inputs k: Int) throws -> WeightMatrix { try tensors.matrix(name, outputs: n, inputs: k) }
        func floats(_ name: String, _ n: Int) throws -> [Float] { try tensors.floats(name, [n]) }
        func optional(_ name: String, _ n: Int) throws -> [Float]? { try tensors.optional(name, n) }
        let reorder = family == .llama
        let blocks = try (0..<config.layers).map { i -> Block in
            let p = "blk.\(i)."
            var query = try matrix(p + "attn_q.weight", outputs: q, inputs: c), key = try matrix(p + "attn_k.weight", outputs: kv, inputs: c)
            if reorder { (query, key) = (try pairHalves(query, heads: heads), try pairHalves(key, heads: config.keyValueHeads)) }
            let qkv = try WeightMatrix.stacked([query, key, try matrix(p + "attn_v.weight", outputs: kv, inputs: c)])
            var qkvBias: [Float]?
            if var bq = try optional(p + "attn_q.bias", q), var bk = try optional(p + "attn_k.bias", kv), let bv = try optional(p + "attn_v.bias", kv) {
                if reorder { (bq, bk) = (pairHalves(bq, heads: heads), pairHalves(bk, heads: config.keyValueHeads)) }
                qkvBias = bq + bk + bv
            }
            return Block(norm1: Norm(weight: try floats(p + "attn_norm.weight", c), bias: nil),
                         norm2: Norm(weight: try floats(p + "ffn_norm.weight", c), bias: nil),
                         qkv: qkv, projection: try matrix(p + "attn_output.weight", outputs: c, inputs: q),
                         expand: try WeightMatrix.stacked([matrix(p + "ffn_gate.weight", outputs: ff, inputs: c),
                                                           matrix(p + "ffn_up.weight", outputs: ff, inputs: c)]),
                         contract: try matrix(p + "ffn_down.weight", outputs: c, inputs: ff),
                         qkvBias: qkvBias, projectionBias: try optional(p + "attn_output.bias", c), expandBias: nil, contractBias: nil,
                         queryNorm: try optional(p + "attn_q_norm.weight", hd), keyNorm: try optional(p + "attn_k_norm.weight", hd))
        }
        if family == .qwen3, blocks.contains(where: { $0.queryNorm == nil || $0.keyNorm == nil }) {
            throw fail("a qwen3 block lacks attn_q_norm or attn_k_norm")
        }
        var rotary: RotaryEmbedding?
        if let factors = try optional("rope_freqs.weight", hd / 2) {
            let plain = RotaryEmbedding(headDimension: hd, base: config.ropeTheta).frequencies
            guard factors.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw fail("rope_freqs.weight holds a factor that is not positive") }
            rotary = RotaryEmbedding(frequencies: zip(plain, factors).map { $0 / Double($1) })
        }
        let wte = try matrix("token_embd.weight", outputs: config.vocabSize, inputs: c)
        let head = config.tieWordEmbeddings ? wte : try matrix("output.weight", outputs: config.vocabSize, inputs: c)
        return InferenceModel(config: config, tokenEmbedding: wte, positions: nil, blocks: blocks,
                              finalNorm: Norm(weight: try floats("output_norm.weight", c), bias: nil), head: head, rotary: rotary)
    }

    /// Within each head of hd rows, row k·hd/2 + j → row 2j + k (Hugging Face's rotary pairing → llama.cpp's).
    static func pairAdjacent(_ w: WeightMatrix, heads: Int) throws -> WeightMatrix { try permuteRows(w, heads: heads, toAdjacent: true) }
    static func pairAdjacent(_ v: [Float], heads: Int) -> [Float] { permute(v, heads: heads, toAdjacent: true) }
    /// The inverse: llama.cpp's pairing back to Hugging Face's.
    static func pairHalves(_ w: WeightMatrix, heads: Int) throws -> WeightMatrix { try permuteRows(w, heads: heads, toAdjacent: false) }
    static func pairHalves(_ v: [Float], heads: Int) -> [Float] { permute(v, heads: heads, toAdjacent: false) }

    /// Where row `r` goes: within its head, k·hd/2 + j ↔ 2j + k.
    private static func destination(_ r: Int, headSize hd: Int, toAdjacent: Bool) -> Int {
        let head = r / hd, i = r % hd, half = hd / 2
        return head * hd + (toAdjacent ? (i % half) * 2 + i / half : (i % 2) * half + i / 2)
    }

    private static func permute(_ v: [Float], heads: Int, toAdjacent: Bool) -> [Float] {
        var out = v
        for r in v.indices { out[destination(r, headSize: v.count / heads, toAdjacent: toAdjacent)] = v[r] }
        return out
    }

    private static func permuteRows(_ w: WeightMatrix, heads: Int, toAdjacent: Bool) throws -> WeightMatrix {
        let w = try w.converted(to: w.type)
        let rowBytes = w.type.rowBytes(w.inputs)!, hd = w.outputs / heads
        let storage = RawStorage(byteCount: w.byteCount)
        for r in 0..<w.outputs {
            (storage.pointer + destination(r, headSize: hd, toAdjacent: toAdjacent) * rowBytes).copyMemory(from: w.base + r * rowBytes, byteCount: rowBytes)
        }
        return WeightMatrix(stored: UnsafeRawPointer(storage.pointer), type: w.type, outputs: w.outputs, inputs: w.inputs, owner: storage)
    }
}
