// Model directories read for inference, and 16-bit ones written (safetensors F16 or BF16, as `transformers`
// saves with torch_dtype float16 / bfloat16, by `llm quantize --type f16|bf16`).
// Reading keeps the matrices in their stored type (f32, f16 or bf16; norms, biases and position embeddings
// are small and become fp32). GPT-2's Conv1D matrices are stored (in, out) and are transposed once to the
// (out, in) rows the row kernels read: measured on GPT-2 124M, 2 threads, fp32 decoding ran at 36 tokens/s
// that way against 29 through the GEMM's few-rows path on the (in, out) layout (which InferenceModel(GPTModel)
// uses to borrow a live model's weights without a copy). The token embedding is (V, C) already and is used
// from the file's mapping. Llama and Qwen3 directories store nn.Linear's (out, in) rows, used in place (q, k,
// v and gate, up are stacked into one matrix each, a copy), sharded or not. Directories with mixed matrix
// types, or GPT-2 variants with rotary/ALiBi positions, go through GPTModel.

import Foundation
import Inference
import Models
import NN
import Tokenizers

extension InferenceModel {
    /// A model directory (fp32, f16 or bf16 safetensors) or a `.gguf` file, for inference, with the
    /// encoding a GGUF file carries (nil for directories: the caller picks the directory's tokenizer).
    public static func load(_ path: String) throws -> (InferenceModel, Encoding?) {
        if path.hasSuffix(".gguf") { return try load(gguf: path) }
        if OpenAICheckpoint.isCheckpointDirectory(path) { return (try InferenceModel(OpenAICheckpoint.load(path)), nil) }
        let config = try Checkpoint.readConfig(path)
        let (files, weights) = try Checkpoint.readWeights(path)
        // The matrices (all 2-D tensors but the position table) must share one type to be used as stored.
        let matrixTypes = Set(files.flatMap { $0.entries.filter { $0.value.shape.count == 2 && !$0.key.hasSuffix("wpe.weight") }.map(\.value.dtype) })
        guard InferenceModel.supports(config), matrixTypes.count == 1, let dtype = matrixTypes.first, ["F32", "F16", "BF16"].contains(dtype) else {
            return (try InferenceModel(Checkpoint.load(path)), nil)
        }
        let type: WeightType = dtype == "F16" ? .f16 : dtype == "BF16" ? .bf16 : .f32
        let size = dtype == "F32" ? 4 : 2
        func fail(_ m: String) -> GPTError { GPTError(description: "\(weights): \(m)") }
        func stored(_ name: String) -> (String, Safetensors.Entry, Safetensors.File)? {
            for candidate in [name, "transformer." + name] {
                for file in files { if let e = file.entries[candidate] { return (candidate, e, file) } }
            }
            return nil
        }
        func floats(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let (full, e, file) = stored(name) else { throw fail("tensor \(name) is missing") }
            guard e.shape == shape else { throw fail("tensor \(full) has shape \(e.shape), expected \(shape)") }
            return try file.tensor(full).scalars
        }
        func conv1D(_ name: String, inputs k: Int, outputs n: Int) throws -> WeightMatrix {
            guard let (full, e, file) = stored(name) else { throw fail("tensor \(name) is missing") }
            guard e.shape == [k, n] else { throw fail("tensor \(full) has shape \(e.shape), expected \([k, n])") }
            let storage = RawStorage(byteCount: size * k * n)
            if size == 4 {
                transpose(file.rawBytes(full)!.assumingMemoryBound(to: UInt32.self), storage.pointer.assumingMemoryBound(to: UInt32.self), k, n)
            } else {
                transpose(file.rawBytes(full)!.assumingMemoryBound(to: UInt16.self), storage.pointer.assumingMemoryBound(to: UInt16.self), k, n)
            }
            return WeightMatrix(stored: UnsafeRawPointer(storage.pointer), type: type, outputs: n, inputs: k, owner: storage)
        }
        func rows(_ name: String, outputs n: Int, inputs k: Int) throws -> WeightMatrix {
            guard let (full, e, file) = stored(name) else { throw fail("tensor \(name) is missing") }
            guard e.shape == [n, k] else { throw fail("tensor \(full) has shape \(e.shape), expected \([n, k])") }
            return WeightMatrix(stored: file.rawBytes(full)!, type: type, outputs: n, inputs: k, owner: file.storageOwner)
        }
        func bias(_ name: String, _ n: Int) throws -> [Float]? { stored(name) == nil ? nil : try floats(name, [n]) }
        let c = config.embeddingSize
        if config.isLlamaFamily {
            // nn.Linear's (out, in) rows are what the row kernels read: used in place, q/k/v and gate/up stacked.
            let hd = config.headDimension, q = config.heads * hd, kv = config.keyValueHeads * hd, ff = config.feedForwardSize
            func norm(_ name: String, _ n: Int = c) throws -> [Float] { try floats(name, [n]) }
            let blocks = try (0..<config.layers).map { i -> Block in
                let p = "model.layers.\(i)."
                let biases = try [bias(p + "self_attn.q_proj.bias", q), bias(p + "self_attn.k_proj.bias", kv), bias(p + "self_attn.v_proj.bias", kv)]
                let qwen = config.architecture == .qwen3
                return Block(
                    norm1: Norm(weight: try norm(p + "input_layernorm.weight"), bias: nil),
                    norm2: Norm(weight: try norm(p + "post_attention_layernorm.weight"), bias: nil),
                    qkv: try WeightMatrix.stacked([rows(p + "self_attn.q_proj.weight", outputs: q, inputs: c),
                                                   rows(p + "self_attn.k_proj.weight", outputs: kv, inputs: c),
                                                   rows(p + "self_attn.v_proj.weight", outputs: kv, inputs: c)]),
                    projection: try rows(p + "self_attn.o_proj.weight", outputs: c, inputs: q),
                    expand: try WeightMatrix.stacked([rows(p + "mlp.gate_proj.weight", outputs: ff, inputs: c),
                                                      rows(p + "mlp.up_proj.weight", outputs: ff, inputs: c)]),
                    contract: try rows(p + "mlp.down_proj.weight", outputs: c, inputs: ff),
                    qkvBias: biases.allSatisfy { $0 != nil } ? biases.flatMap { $0! } : nil,
                    projectionBias: try bias(p + "self_attn.o_proj.bias", c), expandBias: nil, contractBias: nil,
                    queryNorm: qwen ? try norm(p + "self_attn.q_norm.weight", hd) : nil,
                    keyNorm: qwen ? try norm(p + "self_attn.k_norm.weight", hd) : nil)
            }
            let embedding = try rows("model.embed_tokens.weight", outputs: config.vocabSize, inputs: c)
            let head = config.tieWordEmbeddings || stored("lm_head.weight") == nil ? embedding
                : try rows("lm_head.weight", outputs: config.vocabSize, inputs: c)
            return (InferenceModel(config: config, tokenEmbedding: embedding, positions: nil, blocks: blocks,
                                   finalNorm: Norm(weight: try norm("model.norm.weight"), bias: nil), head: head), nil)
        }
        func norm(_ prefix: String) throws -> Norm {
            Norm(weight: try floats(prefix + ".weight", [config.embeddingSize]), bias: try floats(prefix + ".bias", [config.embeddingSize]))
        }
        let blocks = try (0..<config.layers).map { i -> Block in
            let p = "h.\(i)."
            return Block(norm1: try norm(p + "ln_1"), norm2: try norm(p + "ln_2"),
                         qkv: try conv1D(p + "attn.c_attn.weight", inputs: c, outputs: 3 * c),
                         projection: try conv1D(p + "attn.c_proj.weight", inputs: c, outputs: c),
                         expand: try conv1D(p + "mlp.c_fc.weight", inputs: c, outputs: 4 * c),
                         contract: try conv1D(p + "mlp.c_proj.weight", inputs: 4 * c, outputs: c),
                         qkvBias: try bias(p + "attn.c_attn.bias", 3 * c), projectionBias: try bias(p + "attn.c_proj.bias", c),
                         expandBias: try bias(p + "mlp.c_fc.bias", 4 * c), contractBias: try bias(p + "mlp.c_proj.bias", c))
        }
        let wte = try rows("wte.weight", outputs: config.vocabSize, inputs: c)
        let positions = config.positionalEncoding == .learned ? try floats("wpe.weight", [config.contextLength, c])
            : PositionalEncoding.sinusoidal(positions: config.contextLength, dimensions: c).scalars
        let head = config.tieWordEmbeddings || stored("lm_head.weight") == nil ? wte
            : try rows("lm_head.weight", outputs: config.vocabSize, inputs: c)
        return (InferenceModel(config: config, tokenEmbedding: wte, positions: positions, blocks: blocks,
                               finalNorm: try norm("ln_f"), head: head), nil)
    }

    /// Writes a Hugging Face directory (GPT-2, Llama or Qwen3: config.json with torch_dtype, model.safetensors) with every
    /// matrix in `type` (f16 or bf16: what safetensors and `transformers` hold) and the rest in fp32.
    public func writeDirectory(_ directory: String, type: WeightType) throws {
        guard type == .f16 || type == .bf16 else { throw GPTError(description: "model directories hold f32, f16 or bf16 weights; \(type.rawValue) goes into a .gguf file") }
        let dtype = type == .f16 ? "F16" : "BF16"
        let c = config.embeddingSize
        var tensors: [Safetensors.RawTensor] = []
        func half(_ name: String, _ w: WeightMatrix, transposed: Bool) throws {
            let m = try w.converted(to: type)
            let n = m.outputs, k = m.inputs
            let storage = RawStorage(byteCount: 2 * n * k)
            let source = m.base.assumingMemoryBound(to: UInt16.self), target = storage.pointer.assumingMemoryBound(to: UInt16.self)
            if transposed { // (n, k) rows → Conv1D's (k, n)
                for j in 0..<n { for i in 0..<k { target[i * n + j] = source[j * k + i] } }
            } else {
                target.update(from: source, count: n * k)
            }
            tensors.append(Safetensors.RawTensor(name: name, dtype: dtype, shape: transposed ? [k, n] : [n, k],
                                                 bytes: UnsafeRawBufferPointer(start: storage.pointer, count: storage.byteCount), owner: storage))
        }
        func floats(_ name: String, _ values: [Float], _ shape: [Int]) {
            let storage = RawStorage(byteCount: values.count * 4)
            values.withUnsafeBytes { storage.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            tensors.append(Safetensors.RawTensor(name: name, dtype: "F32", shape: shape,
                                                 bytes: UnsafeRawBufferPointer(start: storage.pointer, count: storage.byteCount), owner: storage))
        }
        if config.isLlamaFamily {
            // Hugging Face's names and nn.Linear's (out, in) rows, which are ours: nothing transposed.
            let hd = config.headDimension, q = config.heads * hd, kv = config.keyValueHeads * hd, ff = config.feedForwardSize
            try half("model.embed_tokens.weight", tokenEmbedding, transposed: false)
            for (i, b) in blocks.enumerated() {
                let p = "model.layers.\(i)."
                floats(p + "input_layernorm.weight", b.norm1.weight, [c])
                floats(p + "post_attention_layernorm.weight", b.norm2.weight, [c])
                let qkv = try b.qkv.converted(to: type)
                try half(p + "self_attn.q_proj.weight", qkv.rows(0..<q), transposed: false)
                try half(p + "self_attn.k_proj.weight", qkv.rows(q..<(q + kv)), transposed: false)
                try half(p + "self_attn.v_proj.weight", qkv.rows((q + kv)..<(q + 2 * kv)), transposed: false)
                try half(p + "self_attn.o_proj.weight", b.projection, transposed: false)
                if let v = b.qkvBias {
                    floats(p + "self_attn.q_proj.bias", Array(v[0..<q]), [q])
                    floats(p + "self_attn.k_proj.bias", Array(v[q..<(q + kv)]), [kv])
                    floats(p + "self_attn.v_proj.bias", Array(v[(q + kv)...]), [kv])
                }
                if let v = b.projectionBias { floats(p + "self_attn.o_proj.bias", v, [c]) }
                if let v = b.queryNorm { floats(p + "self_attn.q_norm.weight", v, [hd]) }
                if let v = b.keyNorm { floats(p + "self_attn.k_norm.weight", v, [hd]) }
                let gateUp = try b.expand.converted(to: type)
                try half(p + "mlp.gate_proj.weight", gateUp.rows(0..<ff), transposed: false)
                try half(p + "mlp.up_proj.weight", gateUp.rows(ff..<(2 * ff)), transposed: false)
                try half(p + "mlp.down_proj.weight", b.contract, transposed: false)
            }
            floats("model.norm.weight", finalNorm.weight, [c])
            if !tied { try half("lm_head.weight", head, transposed: false) }
        } else {
            try half("transformer.wte.weight", tokenEmbedding, transposed: false)
            if let positions, config.positionalEncoding == .learned { floats("transformer.wpe.weight", positions, [config.contextLength, c]) }
            for (i, b) in blocks.enumerated() {
                let p = "transformer.h.\(i)."
                floats(p + "ln_1.weight", b.norm1.weight, [c]); floats(p + "ln_1.bias", b.norm1.bias!, [c])
                floats(p + "ln_2.weight", b.norm2.weight, [c]); floats(p + "ln_2.bias", b.norm2.bias!, [c])
                try half(p + "attn.c_attn.weight", b.qkv, transposed: true)
                try half(p + "attn.c_proj.weight", b.projection, transposed: true)
                try half(p + "mlp.c_fc.weight", b.expand, transposed: true)
                try half(p + "mlp.c_proj.weight", b.contract, transposed: true)
                if let v = b.qkvBias { floats(p + "attn.c_attn.bias", v, [3 * c]) }
                if let v = b.projectionBias { floats(p + "attn.c_proj.bias", v, [c]) }
                if let v = b.expandBias { floats(p + "mlp.c_fc.bias", v, [4 * c]) }
                if let v = b.contractBias { floats(p + "mlp.c_proj.bias", v, [c]) }
            }
            floats("transformer.ln_f.weight", finalNorm.weight, [c]); floats("transformer.ln_f.bias", finalNorm.bias!, [c])
            if !tied { try half("lm_head.weight", head, transposed: false) }
        }

        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // config.json as Checkpoint writes it, plus the dtype `transformers` reads (both of its spellings).
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as! [String: Any]
        object["torch_dtype"] = type == .f16 ? "float16" : "bfloat16"
        object["dtype"] = object["torch_dtype"]
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(Checkpoint.configFile)), options: .atomic)
        try Safetensors.serialize(raw: tensors, metadata: ["format": "pt"])
            .write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(Checkpoint.weightsFile)), options: .atomic)
    }
}

/// dst (n, k) = src (k, n) transposed, in 64 x 64 tiles (a plain double loop misses the cache on every write).
private func transpose<T>(_ src: UnsafePointer<T>, _ dst: UnsafeMutablePointer<T>, _ k: Int, _ n: Int) {
    for i0 in stride(from: 0, to: k, by: 64) {
        for j0 in stride(from: 0, to: n, by: 64) {
            for i in i0..<min(i0 + 64, k) { for j in j0..<min(j0 + 64, n) { dst[j * k + i] = src[i * n + j] } }
        }
    }
}
