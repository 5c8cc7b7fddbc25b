// GPT-2 in GGUF, with llama.cpp's names, so the files we write run in llama.cpp / Ollama unchanged and
// GGUF GPT-2 files written by llama.cpp's converter run here (Llama 3 and Qwen3: GGUFLlama.swift):
//
//   token_embd.weight      [C, V]     wte          position_embd.weight  [C, ctx]  wpe
//   blk.N.attn_norm.{weight,bias}     ln_1         blk.N.attn_qkv.{weight [C, 3C], bias}   c_attn
//   blk.N.attn_output.{weight [C, C], bias}        c_proj (attention)
//   blk.N.ffn_norm.{weight,bias}      ln_2         blk.N.ffn_up.{weight [C, 4C], bias}     c_fc
//   blk.N.ffn_down.{weight [4C, C], bias}          c_proj (MLP)
//   output_norm.{weight,bias}         ln_f         output.weight [C, V]   the head, only when not tied to
//                                                                         token_embd (as llama.cpp's converter)
// Dimensions are ggml's (ne[0] = inputs), so the bytes of a matrix are our (outputs, inputs) rows exactly,
// and a GGUF matrix is used in place from the mapped file (no copy) whatever its type.
// Hyperparameters: gpt2.{context_length, embedding_length, feed_forward_length, block_count,
// attention.head_count, attention.layer_norm_epsilon}; the tokenizer: tokenizer.ggml.{model = "gpt2",
// pre = "gpt-2", tokens, token_type, merges, bos_token_id, eos_token_id}.

import CKernels
import Foundation
import Inference
import Models
import Tokenizers

extension InferenceModel {
    /// llama.cpp's `general.file_type` for a model whose matrices are `type`.
    static func fileType(_ type: WeightType) -> UInt32 {
        switch type {
        case .f32: 0
        case .f16: 1
        case .q8_0: 7
        case .bf16: 32
        }
    }

    /// Writes this model (matrices as they are stored now; convert first) and `encoding` as a GGUF v3 file.
    public func writeGGUF(to path: String, encoding: Encoding, name: String, progress: (Int, Int) -> Void = { _, _ in }) throws {
        if config.isLlamaFamily { return try writeLlamaFamilyGGUF(to: path, encoding: encoding, name: name, progress: progress) }
        let c = config.embeddingSize
        var tensors: [GGUF.OutputTensor] = []
        func floats(_ name: String, _ values: [Float], _ dims: [Int]) {
            let storage = RawStorage(byteCount: values.count * 4)
            values.withUnsafeBytes { storage.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            tensors.append(GGUF.OutputTensor(name: name, dimensions: dims, type: 0,
                                             bytes: UnsafeRawBufferPointer(start: storage.pointer, count: storage.byteCount), owner: storage))
        }
        func matrix(_ name: String, _ w: WeightMatrix) {
            precondition(w.layout == .outputsByInputs, "convert Linear-layout matrices before writing GGUF")
            tensors.append(GGUF.OutputTensor(name: name, dimensions: [w.inputs, w.outputs], type: w.type.ggmlType,
                                             bytes: UnsafeRawBufferPointer(start: w.base, count: w.byteCount), owner: w))
        }
        func optionalBias(_ name: String, _ b: [Float]?, _ n: Int) { floats(name, b ?? [Float](repeating: 0, count: n), [n]) }
        matrix("token_embd.weight", tokenEmbedding)
        floats("position_embd.weight", positions ?? [Float](repeating: 0, count: config.contextLength * c), [c, config.contextLength])
        for (i, b) in blocks.enumerated() {
            floats("blk.\(i).attn_norm.weight", b.norm1.weight, [c])
            optionalBias("blk.\(i).attn_norm.bias", b.norm1.bias, c)
            matrix("blk.\(i).attn_qkv.weight", b.qkv)
            optionalBias("blk.\(i).attn_qkv.bias", b.qkvBias, 3 * c)
            matrix("blk.\(i).attn_output.weight", b.projection)
            optionalBias("blk.\(i).attn_output.bias", b.projectionBias, c)
            floats("blk.\(i).ffn_norm.weight", b.norm2.weight, [c])
            optionalBias("blk.\(i).ffn_norm.bias", b.norm2.bias, c)
            matrix("blk.\(i).ffn_up.weight", b.expand)
            optionalBias("blk.\(i).ffn_up.bias", b.expandBias, 4 * c)
            matrix("blk.\(i).ffn_down.weight", b.contract)
            optionalBias("blk.\(i).ffn_down.bias", b.contractBias, c)
        }
        floats("output_norm.weight", finalNorm.weight, [c])
        optionalBias("output_norm.bias", finalNorm.bias, c)
        if !tied { matrix("output.weight", head) } // tied: llama.cpp reads token_embd for the head, as its converter writes GPT-2

        let body = blocks.first?.qkv.type ?? .f32
        var metadata: [(String, GGUF.Value)] = [
            ("general.architecture", .string("gpt2")),
            ("general.name", .string(name)),
            ("general.file_type", .u32(Self.fileType(body))),
            ("gpt2.context_length", .u32(UInt32(config.contextLength))),
            ("gpt2.embedding_length", .u32(UInt32(c))),
            ("gpt2.feed_forward_length", .u32(UInt32(4 * c))),
            ("gpt2.block_count", .u32(UInt32(config.layers))),
            ("gpt2.attention.head_count", .u32(UInt32(config.heads))),
            ("gpt2.attention.layer_norm_epsilon", .f32(config.layerNormEpsilon)),
        ] + (try tokenizerMetadata(encoding))
        if body == .q8_0 { metadata.insert(("general.quantization_version", .u32(2)), at: 3) }
        try GGUF.write(metadata: metadata, tensors: tensors, to: path, progress: progress)
    }

    /// The tokenizer as GGUF metadata (byte-level BPE, "gpt2" in llama.cpp's words), padded to the model's
    /// vocabulary with unused entries (llama.cpp wants one per row); `pre` names the pre-tokenizer as llama.cpp does.
    func tokenizerMetadata(_ encoding: Encoding) throws -> [(String, GGUF.Value)] {
        let bySpecialID = Dictionary(encoding.specialTokens.map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var tokens: [GGUF.Value] = [], types: [GGUF.Value] = []
        for id in 0..<config.vocabSize {
            if let special = bySpecialID[id] {
                tokens.append(.string(special)); types.append(.i32(3))  // control
            } else if let bytes = encoding.bytes(ofToken: id) {
                tokens.append(.string(EncodingFiles.dataGymText(bytes))); types.append(.i32(1)) // normal
            } else {
                tokens.append(.string("[PAD\(id)]")); types.append(.i32(5))  // unused
            }
        }
        let ranks = (0..<encoding.rankCount).map { bySpecialID[$0] == nil ? encoding.bytes(ofToken: $0) : nil }
        let merges = try EncodingFiles.mergeLines(ranks).map { GGUF.Value.string($0) }
        let pre = switch encoding.preTokenizer {
        case .r50k: "gpt-2"
        case .cl100k: "llama-bpe"
        case .qwen2: "qwen2"
        case .o200k: "gpt-4o"
        }
        var metadata: [(String, GGUF.Value)] = [
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string(pre)),
            ("tokenizer.ggml.tokens", .array(.string, tokens)),
            ("tokenizer.ggml.token_type", .array(.i32, types)),
            ("tokenizer.ggml.merges", .array(.string, merges)),
        ]
        let begin = encoding.specialTokens["<|begin_of_text|>"] ?? encoding.endOfText
        let end = config.endTokenIds.first ?? encoding.endOfText
        if let begin { metadata.append(("tokenizer.ggml.bos_token_id", .u32(UInt32(begin)))) }
        if let end { metadata.append(("tokenizer.ggml.eos_token_id", .u32(UInt32(end)))) }
        return metadata
    }

    /// A GPT-2 GGUF file (ours, or llama.cpp's converter's) and the tokenizer it carries (nil if none).
    /// Matrices are used from the mapped file in their stored type; everything else is read as fp32.
    public static func load(gguf path: String) throws -> (InferenceModel, Encoding?) {
        let file = try GGUF.read(path)
        func fail(_ m: String) -> GGUFError { GGUFError(description: "\(path): \(m)") }
        let arch = file.metadata["general.architecture"]?.string ?? "(none)"
        if arch == "llama" || arch == "qwen3" { return (try loadLlamaFamily(file, path: path), try ggufEncoding(file)) }
        guard arch == "gpt2" else {
            throw fail("the architecture is \(arch); this program runs gpt2, llama and qwen3 GGUF files (general.architecture)")
        }
        func int(_ key: String) throws -> Int {
            guard let v = file.metadata[key]?.int, v > 0, v < 1 << 31 else { throw fail("metadata \(key) is missing or not a positive integer") }
            return v
        }
        guard let embedding = file.tensor("token_embd.weight"), embedding.dimensions.count == 2 else {
            throw fail("tensor token_embd.weight is missing or not 2-D")
        }
        var config = GPTConfig(vocabSize: embedding.dimensions[1], contextLength: try int("gpt2.context_length"),
                               embeddingSize: try int("gpt2.embedding_length"), layers: try int("gpt2.block_count"),
                               heads: try int("gpt2.attention.head_count"), dropout: 0)
        config.layerNormEpsilon = Float(file.metadata["gpt2.attention.layer_norm_epsilon"]?.float ?? 1e-5)
        config.tieWordEmbeddings = file.tensor("output.weight") == nil
        do { try config.validate() } catch { throw fail("\(error)") }
        let c = config.embeddingSize
        if let ff = file.metadata["gpt2.feed_forward_length"]?.int, ff != 4 * c {
            throw fail("gpt2.feed_forward_length is \(ff); GPT-2 blocks widen to 4 x \(c) = \(4 * c)")
        }

        let tensors = GGUFTensors(file: file, path: path)
        func matrix(_ name: String, outputs n: Int, inputs k: Int) throws -> WeightMatrix { try tensors.matrix(name, outputs: n, inputs: k) }
        func floats(_ name: String, _ dims: [Int]) throws -> [Float] { try tensors.floats(name, dims) }
        func norm(_ prefix: String) throws -> Norm { Norm(weight: try floats(prefix + ".weight", [c]), bias: try floats(prefix + ".bias", [c])) }
        func bias(_ name: String, _ n: Int) throws -> [Float]? { try tensors.optional(name, n) }

        // Every block has at least four matrices: a block count beyond what the file holds is refused before
        // anything is sized by it (found by fuzzing: a count of 2^30 reserved gigabytes).
        guard config.layers * 4 <= file.tensors.count else {
            throw fail("gpt2.block_count is \(config.layers), but the file holds only \(file.tensors.count) tensors")
        }
        let wte = try matrix("token_embd.weight", outputs: config.vocabSize, inputs: c)
        let positions = try floats("position_embd.weight", [c, config.contextLength])
        let blocks = try (0..<config.layers).map { i -> Block in
            let p = "blk.\(i)."
            return Block(norm1: try norm(p + "attn_norm"), norm2: try norm(p + "ffn_norm"),
                         qkv: try matrix(p + "attn_qkv.weight", outputs: 3 * c, inputs: c),
                         projection: try matrix(p + "attn_output.weight", outputs: c, inputs: c),
                         expand: try matrix(p + "ffn_up.weight", outputs: 4 * c, inputs: c),
                         contract: try matrix(p + "ffn_down.weight", outputs: c, inputs: 4 * c),
                         qkvBias: try bias(p + "attn_qkv.bias", 3 * c), projectionBias: try bias(p + "attn_output.bias", c),
                         expandBias: try bias(p + "ffn_up.bias", 4 * c), contractBias: try bias(p + "ffn_down.bias", c))
        }
        let head = config.tieWordEmbeddings ? wte : try matrix("output.weight", outputs: config.vocabSize, inputs: c)
        let model = InferenceModel(config: config, tokenEmbedding: wte, positions: positions, blocks: blocks,
                                   finalNorm: try norm("output_norm"), head: head)
        return (model, try ggufEncoding(file))
    }

    /// The GPT-2 tokenizer a GGUF file carries, nil when it has none.
    static func ggufEncoding(_ file: GGUF.File) throws -> Encoding? {
        guard let model = file.metadata["tokenizer.ggml.model"]?.string else { return nil }
        func fail(_ m: String) -> GGUFError { GGUFError(description: "\(file.path): \(m)") }
        guard model == "gpt2" else { throw fail("tokenizer.ggml.model is \(model); only GPT-2's byte-level BPE (gpt2) is read") }
        let pre = file.metadata["tokenizer.ggml.pre"]?.string ?? "gpt-2"
        let preTokenizers: [String: PreTokenizer] = ["gpt-2": .r50k, "default": .r50k, "llama-bpe": .cl100k, "llama3": .cl100k,
                                                      "qwen2": .qwen2, "gpt-4o": .o200k]
        guard let preTokenizer = preTokenizers[pre] else {
            throw fail("tokenizer.ggml.pre is \(pre); the pre-tokenizers read are \(preTokenizers.keys.sorted().joined(separator: ", "))")
        }
        guard let tokens = file.metadata["tokenizer.ggml.tokens"]?.array?.compactMap(\.string),
              let merges = file.metadata["tokenizer.ggml.merges"]?.array?.compactMap(\.string) else {
            throw fail("tokenizer.ggml.tokens or tokenizer.ggml.merges is missing or not a list of strings")
        }
        let types = file.metadata["tokenizer.ggml.token_type"]?.array?.compactMap(\.int) ?? []
        // Control (3) and user-defined (4) tokens are special; unused (5) entries are padding and skipped.
        let special = types.indices.filter { types[$0] == 3 || types[$0] == 4 }
        let unused = Set(types.indices.filter { types[$0] == 5 })
        let kept = tokens.enumerated().map { unused.contains($0.offset) ? nil : $0.element }
        let vocabulary = Array(kept.prefix { $0 != nil }.map { $0! })
        do {
            guard preTokenizer == .r50k else { // ranks are ids, as in Llama 3's and Qwen's vocabularies
                return try Encoding.byteLevel(vocabulary: vocabulary, special: Set(special), preTokenizer: preTokenizer,
                                              merges: merges, path: file.path)
            }
            return try Encoding.gpt2(vocabulary: vocabulary, merges: merges, special: special.filter { $0 < vocabulary.count }, path: file.path)
        } catch {
            throw fail("its GPT-2 tokenizer does not load: \(error)")
        }
    }
}

/// A GGUF file's tensors read as the loaders need them, each checked against the dimensions expected: matrices used
/// in place in their stored type, everything else as fp32 (the GPT-2 and the Llama-family loaders share it).
struct GGUFTensors {
    let file: GGUF.File, path: String

    func fail(_ m: String) -> GGUFError { GGUFError(description: "\(path): \(m)") }

    func info(_ name: String, _ dims: [Int]) throws -> GGUF.TensorInfo {
        guard let t = file.tensor(name) else { throw fail("tensor \(name) is missing") }
        guard t.dimensions == dims else { throw fail("tensor \(name) has dimensions \(t.dimensions), expected \(dims)") }
        return t
    }

    /// An (n, k) matrix: GGUF dimensions [k, n]. F32, F16, BF16 and Q8_0 are used in place; the other block types
    /// (Q4_0 … Q6_K, IQ4_NL, IQ4_XS) are dequantised to fp32 once, exactly as gguf-py dequantises them.
    func matrix(_ name: String, outputs n: Int, inputs k: Int) throws -> WeightMatrix {
        let t = try info(name, [k, n])
        if let type = WeightType(ggmlType: t.type) { return WeightMatrix(stored: file.data(t), type: type, outputs: n, inputs: k, owner: file) }
        let storage = RawStorage(byteCount: 4 * n * k)
        try dequantize(t, into: storage.pointer.assumingMemoryBound(to: Float.self))
        return WeightMatrix(stored: UnsafeRawPointer(storage.pointer), type: .f32, outputs: n, inputs: k, owner: storage)
    }

    func floats(_ name: String, _ dims: [Int]) throws -> [Float] {
        let t = try info(name, dims)
        var values = [Float](repeating: 0, count: t.elementCount)
        try values.withUnsafeMutableBufferPointer { try dequantize(t, into: $0.baseAddress!) }
        return values
    }

    private func dequantize(_ t: GGUF.TensorInfo, into out: UnsafeMutablePointer<Float>) throws {
        guard llm_ggml_dequantize(t.type, file.data(t), out, t.elementCount) == 0 else {
            throw fail("tensor \(t.name): \(GGUF.refusal(type: t.type, rowLength: t.dimensions[0]))")
        }
    }

    /// The tensor if the file has it.
    func optional(_ name: String, _ n: Int) throws -> [Float]? { file.tensor(name) == nil ? nil : try floats(name, [n]) }
}
