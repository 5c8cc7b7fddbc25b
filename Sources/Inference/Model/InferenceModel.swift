// The GPT forward pass for generating and serving: no autograd, no Tensor objects, weights in any
// WeightType, keys and values in preallocated slots (KVSlots). It computes what GPTModel computes in
// evaluation mode (tests compare the logits), for GPT-2's family with learned or sinusoidal positions
// and for the Llama 3 / Qwen3 family; GPT-2 variants with rotary or ALiBi positions generate through
// GPTModel's own path.
//
// One call runs a batch of rows, each a token at a position of a slot:
//   decode    one row per active sequence — one weight read serves them all;
//   prefill   the prompt's rows of one slot (a chunk of them at a time in the serving engine).
// Rows of one slot must be consecutive, in position order, continuing what the slot holds.
//
//   x (m, C) = wte[token] (+ wpe[position], GPT-2)
//   per block:  h = norm_1(x); qkv = h W_qkv (+ b) (m, (H + 2K)·hd): queries, keys, values side by side;
//               Qwen3: RMSNorm of each query and key head; Llama/Qwen: rotate them by position (RoPE);
//               keys/values → slot cache; a = causal attention of each slot's run of queries over its
//               cache (m, H·hd), each group of H / K query heads reading its one key/value head;
//               x += a W_o (+ b);  x += ffn(norm_2(x))
//               ffn: GPT-2 gelu(h W_fc + b) W_proj + b;  Llama/Qwen: (silu(h W_gate) * h W_up) W_down,
//               gate and up stored side by side as one (2I, C) matrix, like q, k and v
//   logits (rows asked for, V) = norm_f(x) W_head
// norm is LayerNorm for GPT-2 and RMSNorm (no bias) for the Llama family.
//
// Batch invariance: with at most LLM_ROW_KERNEL_MAX_M rows every product runs a fixed per-row
// operation order (WeightMatrix.apply), norms and activations are per row, and attention runs per slot,
// so a sequence's logits are bit-identical alone or decoded among others.

import CKernels
import Foundation
import Models
import NN
import Tensors

public final class InferenceModel: @unchecked Sendable { // immutable after init; `forward` needs one caller at a time per KVSlots
    // Norm, Block and the stored weights are public because the file formats (Formats: safetensors in
    // low precision, GGUF) build an InferenceModel straight from a file's tensors and write one back.
    public struct Norm: Sendable {
        /// LayerNorm's weight and bias; RMSNorm has no bias.
        public let weight: [Float], bias: [Float]?
        public init(weight: [Float], bias: [Float]?) { self.weight = weight; self.bias = bias }
    }

    public struct Block: Sendable {
        public let norm1: Norm, norm2: Norm
        /// ((H + 2K)·hd, C): query, key and value projections side by side; (C, H·hd) back to the residual.
        public let qkv: WeightMatrix, projection: WeightMatrix
        /// GPT-2: c_fc (4C, C); Llama: gate and up side by side (2I, C). Then (C, 4C or I) back.
        public let expand: WeightMatrix, contract: WeightMatrix
        public let qkvBias: [Float]?, projectionBias: [Float]?, expandBias: [Float]?, contractBias: [Float]?
        /// Qwen3's RMSNorm weights over each query and key head (hd).
        public var queryNorm: [Float]? = nil, keyNorm: [Float]? = nil

        public init(norm1: Norm, norm2: Norm, qkv: WeightMatrix, projection: WeightMatrix, expand: WeightMatrix, contract: WeightMatrix,
                    qkvBias: [Float]?, projectionBias: [Float]?, expandBias: [Float]?, contractBias: [Float]?,
                    queryNorm: [Float]? = nil, keyNorm: [Float]? = nil) {
            self.norm1 = norm1; self.norm2 = norm2; self.qkv = qkv; self.projection = projection
            self.expand = expand; self.contract = contract
            self.qkvBias = qkvBias; self.projectionBias = projectionBias; self.expandBias = expandBias; self.contractBias = contractBias
            self.queryNorm = queryNorm; self.keyNorm = keyNorm
        }
    }

    public let config: GPTConfig
    public let tokenEmbedding: WeightMatrix // (V, C)
    public let positions: [Float]?          // (context, C), learned or sinusoidal; nil with rotary positions
    public let blocks: [Block]
    public let finalNorm: Norm
    public let head: WeightMatrix           // (V, C); the token embedding itself when tied
    public let rotary: RotaryEmbedding?     // the Llama family's positions

    /// `rotary` defaults to the one config.json describes; a GGUF file may carry its own frequencies (rope_freqs).
    public init(config: GPTConfig, tokenEmbedding: WeightMatrix, positions: [Float]?, blocks: [Block], finalNorm: Norm, head: WeightMatrix,
         rotary: RotaryEmbedding? = nil) {
        self.config = config
        self.tokenEmbedding = tokenEmbedding
        self.positions = positions
        self.blocks = blocks
        self.finalNorm = finalNorm
        self.head = head
        self.rotary = rotary ?? (config.isLlamaFamily
            ? RotaryEmbedding(headDimension: config.headDimension, base: config.ropeTheta, scaling: config.ropeScaling) : nil)
    }

    /// Rows up to which every product runs each row's own fixed order: a forward pass of at most this many
    /// rows gives each row the same numbers whatever the other rows are.
    public static let batchInvariantRows = Int(LLM_ROW_KERNEL_MAX_M)

    /// Whether a model of this configuration can run here: GPT-2's family with learned or sinusoidal
    /// positions, and the Llama family.
    public static func supports(_ config: GPTConfig) -> Bool {
        config.isLlamaFamily || config.positionalEncoding == .learned || config.positionalEncoding == .sinusoidal
    }

    /// A view of a GPTModel's current weights (LoRA adapters are merged in copies). GPT-2's matrices are
    /// borrowed without a copy; the Llama family's q, k, v and gate, up are stacked into one matrix each (a copy).
    public convenience init(_ model: GPTModel) throws {
        let config = model.config
        guard InferenceModel.supports(config) else {
            throw GPTError(description: "the fast inference path runs learned or sinusoidal positions, not \(config.positionalEncoding.rawValue)")
        }
        func norm(_ n: any Normalization) -> Norm {
            if let n = n as? RMSNorm { return Norm(weight: n.weight.scalars, bias: nil) }
            let n = n as! LayerNorm
            return Norm(weight: n.weight.scalars, bias: n.bias.scalars)
        }
        func linear(_ l: Linear) -> (WeightMatrix, [Float]?) {
            let merged = l.merged()
            return (WeightMatrix(borrowingInputsByOutputs: merged.weight), merged.bias?.scalars)
        }
        /// Several linear layers of one input as one (sum of outputs, in) matrix, and their biases.
        func stacked(_ layers: [Linear]) throws -> (WeightMatrix, [Float]?) {
            let parts = layers.map(linear)
            let matrix = try WeightMatrix.stacked(parts.map { try $0.0.converted(to: .f32) })
            let biases = parts.compactMap(\.1)
            return (matrix, biases.count == parts.count ? biases.flatMap { $0 } : nil)
        }
        let blocks = try model.blocks.map { b -> Block in
            if let attention = b.attention as? GroupedQueryAttention, let mlp = b.mlp as? SwiGLUFeedForward {
                let (qkv, qkvBias) = try stacked([attention.query, attention.key, attention.value])
                let (proj, projBias) = linear(attention.output)
                let (gateUp, gateUpBias) = try stacked([mlp.gate, mlp.up])
                let (down, downBias) = linear(mlp.down)
                return Block(norm1: norm(b.norm1), norm2: norm(b.norm2), qkv: qkv, projection: proj, expand: gateUp, contract: down,
                             qkvBias: qkvBias, projectionBias: projBias, expandBias: gateUpBias, contractBias: downBias,
                             queryNorm: attention.queryNorm?.weight.scalars, keyNorm: attention.keyNorm?.weight.scalars)
            }
            let attention = b.attention as! MultiHeadAttention, mlp = b.mlp as! FeedForward
            let (qkv, qkvBias) = linear(attention.qkv), (proj, projBias) = linear(attention.outProjection)
            let (fc, fcBias) = linear(mlp.expand), (out, outBias) = linear(mlp.project)
            return Block(norm1: norm(b.norm1), norm2: norm(b.norm2), qkv: qkv, projection: proj, expand: fc, contract: out,
                         qkvBias: qkvBias, projectionBias: projBias, expandBias: fcBias, contractBias: outBias)
        }
        let embedding = WeightMatrix(borrowingOutputsByInputs: model.tokenEmbedding.weight)
        let positions = model.positionEmbedding?.weight.scalars ?? model.sinusoidTable?.scalars
        self.init(config: config, tokenEmbedding: embedding, positions: positions, blocks: blocks,
                  finalNorm: norm(model.finalNorm), head: model.outputHead.map { WeightMatrix(borrowingOutputsByInputs: $0) } ?? embedding)
    }

    /// The same model with every matrix stored as `type`; the output head as `headType` (default: `type`).
    public func converted(to type: WeightType, headType: WeightType? = nil) throws -> InferenceModel {
        let blocks = try self.blocks.map { b in
            Block(norm1: b.norm1, norm2: b.norm2, qkv: try b.qkv.converted(to: type), projection: try b.projection.converted(to: type),
                  expand: try b.expand.converted(to: type), contract: try b.contract.converted(to: type),
                  qkvBias: b.qkvBias, projectionBias: b.projectionBias, expandBias: b.expandBias, contractBias: b.contractBias,
                  queryNorm: b.queryNorm, keyNorm: b.keyNorm)
        }
        let headType = headType ?? type
        let embedding = try tokenEmbedding.converted(to: tied ? headType : type)
        let head = tied ? embedding : try self.head.converted(to: headType)
        return InferenceModel(config: config, tokenEmbedding: embedding, positions: positions, blocks: blocks,
                              finalNorm: finalNorm, head: head, rotary: rotary)
    }

    /// The same weights with a shorter context (smaller KV slots when serving).
    public func withContextLength(_ length: Int) -> InferenceModel {
        precondition(length >= 1 && length <= config.contextLength)
        var c = config
        c.contextLength = length
        return InferenceModel(config: c, tokenEmbedding: tokenEmbedding, positions: positions.map { Array($0.prefix(length * c.embeddingSize)) },
                              blocks: blocks, finalNorm: finalNorm, head: head, rotary: rotary)
    }

    /// Whether the output head is the token embedding.
    public var tied: Bool { head === tokenEmbedding }

    /// Bytes of weights one decoding step reads (every matrix once; the embedding only a row).
    public var bytesReadPerToken: Int {
        blocks.reduce(head.byteCount) { $0 + $1.qkv.byteCount + $1.projection.byteCount + $1.expand.byteCount + $1.contract.byteCount }
    }

    /// Bytes of all the weights.
    public var weightBytes: Int {
        let matrices = blocks.reduce(tokenEmbedding.byteCount + (tied ? 0 : head.byteCount)) {
            $0 + $1.qkv.byteCount + $1.projection.byteCount + $1.expand.byteCount + $1.contract.byteCount
        }
        return matrices + 4 * (positions?.count ?? 0)
    }

    /// The weight types in use, e.g. "q8_0" or "q8_0 (head f32)".
    public var typeDescription: String {
        let body = blocks.first?.qkv.type ?? head.type
        return head.type == body ? body.rawValue : "\(body.rawValue) (head \(head.type.rawValue))"
    }

    // MARK: Forward

    /// Runs `tokens` (at `positions` of `slots`, see the file header) through the model, stores their keys
    /// and values in `cache`, and returns the logits of the rows listed in `logitsFor` ((count, V) row-major).
    public func forward(tokens: [Int], slots: [Int], positions rowPositions: [Int], cache: KVSlots, logitsFor: [Int]) -> [Float] {
        forward(tokens: tokens, slots: slots, positions: rowPositions, cache: cache, logitsFor: logitsFor, inspect: nil)
    }

    /// `forward`, letting `inspect` see each block's queries, keys and values ((m, (H + 2K)·hd) rows, after
    /// Qwen3's norms and the rotation) as they are computed; it returns false to stop there
    /// (InferenceModel+Inspection.swift).
    func forward(tokens: [Int], slots: [Int], positions rowPositions: [Int], cache: KVSlots, logitsFor: [Int],
                 inspect: ((_ layer: Int, _ qkv: UnsafePointer<Float>) -> Bool)?) -> [Float] {
        let m = tokens.count, c = config.embeddingSize, heads = config.heads, hd = config.headDimension
        let kvHeads = config.keyValueHeads, group = heads / kvHeads
        let qWidth = heads * hd, kvWidth = kvHeads * hd, qkvWidth = qWidth + 2 * kvWidth
        let ffWidth = blocks.first?.expand.outputs ?? 0, gated = config.isLlamaFamily
        precondition(slots.count == m && rowPositions.count == m && m > 0)
        precondition(cache.width == kvWidth, "a KV cache of width \(cache.width) for keys and values of width \(kvWidth)")
        for r in 0..<m {
            precondition(rowPositions[r] < config.contextLength, "position \(rowPositions[r]) is past the context length")
            precondition(rowPositions[r] == cache.length(slots[r]) + (0..<r).filter { slots[$0] == slots[r] }.count,
                         "row \(r) does not continue slot \(slots[r])")
        }
        // Workspace: x, h (m, C); attention output (m, H·hd); qkv (m, (H + 2K)·hd); feed-forward (m, 4C or 2I)
        // and SwiGLU's product (m, I); mean, rstd (m); lse (H, m); rotary cos and sin (m, hd / 2).
        let half = hd / 2, gatedWidth = gated ? ffWidth / 2 : 0
        let floats = m * (2 * c + qWidth + qkvWidth + ffWidth + gatedWidth + 2) + heads * m + 2 * m * half
        let work = RawStorage(byteCount: 4 * floats)
        let x = work.pointer.assumingMemoryBound(to: Float.self)
        let h = x + m * c, attended = h + m * c, qkv = attended + m * qWidth, ff = qkv + m * qkvWidth
        let gatedOut = ff + m * ffWidth, mean = gatedOut + m * gatedWidth, rstd = mean + m, lse = rstd + m
        let cosines = lse + heads * m, sines = cosines + m * half

        for r in 0..<m { // embeddings
            let row = x + r * c
            tokenEmbedding.row(tokens[r], into: row)
            if let positions {
                positions.withUnsafeBufferPointer { p in
                    for i in 0..<c { row[i] += p[rowPositions[r] * c + i] }
                }
            }
        }
        if let rotary { // each row's angles, shared by every head of every block
            for r in 0..<m {
                for i in 0..<half {
                    let angle = Double(rowPositions[r]) * rotary.frequencies[i]
                    cosines[r * half + i] = Float(Foundation.cos(angle))
                    sines[r * half + i] = Float(Foundation.sin(angle))
                }
            }
        }
        // Runs of rows per slot, for attention: (first row, count).
        var runs: [(Int, Int)] = []
        for r in 0..<m {
            if let last = runs.last, slots[last.0] == slots[r] { runs[runs.count - 1].1 += 1 } else { runs.append((r, 1)) }
        }
        let scale = 1 / Float(hd).squareRoot()
        for (l, block) in blocks.enumerated() {
            normalize(block.norm1, x, h, mean, rstd, m)
            apply(block.qkv, h, m, block.qkvBias, qkv)
            for r in 0..<m { // Qwen3's head norms, then the rotation, of this row's queries and keys
                let row = qkv + r * qkvWidth
                if let queryNorm = block.queryNorm, let keyNorm = block.keyNorm {
                    queryNorm.withUnsafeBufferPointer { llm_rmsnorm_forward(row, $0.baseAddress!, row, nil, heads, hd, config.layerNormEpsilon) }
                    keyNorm.withUnsafeBufferPointer { llm_rmsnorm_forward(row + qWidth, $0.baseAddress!, row + qWidth, nil, kvHeads, hd, config.layerNormEpsilon) }
                }
                if rotary != nil {
                    for head in 0..<(heads + kvHeads) {
                        rotate(row + head * hd, cosines + r * half, sines + r * half, half)
                    }
                }
            }
            if let inspect, !inspect(l, qkv) { return [] }
            for r in 0..<m { // cache this row's key and value
                let keys = cache.buffer(slots[r], layer: l, 0), values = cache.buffer(slots[r], layer: l, 1)
                (keys + rowPositions[r] * kvWidth).update(from: qkv + r * qkvWidth + qWidth, count: kvWidth)
                (values + rowPositions[r] * kvWidth).update(from: qkv + r * qkvWidth + qWidth + kvWidth, count: kvWidth)
            }
            for (first, count) in runs {
                let slot = slots[first], known = rowPositions[first] + count
                let keys = cache.buffer(slot, layer: l, 0), values = cache.buffer(slot, layer: l, 1)
                let queries = qkv + first * qkvWidth, out = attended + first * qWidth
                let sq = llm_attention_strides(batch: 0, head: hd, row: qkvWidth), so = llm_attention_strides(batch: 0, head: hd, row: qWidth)
                if group == 1 { // multi-head attention: every head in one call
                    llm_attention_forward(queries, keys, values, out, lse, 1, heads, count, known, hd, sq,
                                          llm_attention_strides(batch: 0, head: hd, row: kvWidth), so, scale, 1, 0, 0, 0)
                } else { // one call per key/value head: its group of query heads reads it through a head stride of 0
                    for g in 0..<kvHeads {
                        llm_attention_forward(queries + g * group * hd, keys + g * hd, values + g * hd, out + g * group * hd, lse,
                                              1, group, count, known, hd, sq, llm_attention_strides(batch: 0, head: 0, row: kvWidth),
                                              so, scale, 1, 0, 0, 0)
                    }
                }
            }
            apply(block.projection, attended, m, block.projectionBias, h)
            add(h, into: x, m * c)
            normalize(block.norm2, x, h, mean, rstd, m)
            apply(block.expand, h, m, block.expandBias, ff)
            if gated {
                for r in 0..<m { llm_swiglu_forward(ff + r * ffWidth, ff + r * ffWidth + gatedWidth, gatedOut + r * gatedWidth, gatedWidth) }
                apply(block.contract, gatedOut, m, block.contractBias, h)
            } else {
                llm_gelu_forward(ff, ff, m * ffWidth)
                apply(block.contract, ff, m, block.contractBias, h)
            }
            add(h, into: x, m * c)
        }
        for r in 0..<m { cache.record(slots[r], token: tokens[r]) }

        // Only the rows asked for go through the final norm and the head (prefill needs just the last).
        let wanted = logitsFor.count
        guard wanted > 0 else { return [] }
        for (i, r) in logitsFor.enumerated() { (h + i * c).update(from: x + r * c, count: c) }
        normalize(finalNorm, h, x, mean, rstd, wanted)
        var logits = [Float](repeating: 0, count: wanted * config.vocabSize)
        logits.withUnsafeMutableBufferPointer { apply(head, x, wanted, nil, $0.baseAddress!) }
        return logits
    }

    /// RoPE on one head's vector in place, "rotate half" layout: (a, b) = (v[i], v[i + d/2]) becomes
    /// (a cos - b sin, b cos + a sin).
    private func rotate(_ v: UnsafeMutablePointer<Float>, _ cos: UnsafePointer<Float>, _ sin: UnsafePointer<Float>, _ half: Int) {
        for i in 0..<half {
            let a = v[i], b = v[i + half]
            v[i] = a * cos[i] - b * sin[i]
            v[i + half] = b * cos[i] + a * sin[i]
        }
    }

    private func apply(_ w: WeightMatrix, _ x: UnsafeMutablePointer<Float>, _ m: Int, _ bias: [Float]?, _ y: UnsafeMutablePointer<Float>) {
        if let bias {
            bias.withUnsafeBufferPointer { w.apply(x, rows: m, bias: $0.baseAddress!, into: y) }
        } else {
            w.apply(x, rows: m, bias: nil, into: y)
        }
    }

    private func normalize(_ n: Norm, _ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                           _ mean: UnsafeMutablePointer<Float>, _ rstd: UnsafeMutablePointer<Float>, _ m: Int) {
        n.weight.withUnsafeBufferPointer { w in
            if let bias = n.bias {
                bias.withUnsafeBufferPointer { b in
                    llm_layernorm_forward(x, w.baseAddress!, b.baseAddress!, y, mean, rstd, m, config.embeddingSize, config.layerNormEpsilon)
                }
            } else {
                llm_rmsnorm_forward(x, w.baseAddress!, y, rstd, m, config.embeddingSize, config.layerNormEpsilon)
            }
        }
    }

    private func add(_ a: UnsafeMutablePointer<Float>, into x: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count { x[i] += a[i] }
    }
}
