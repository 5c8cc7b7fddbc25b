// The GPT forward pass for generating and serving: no autograd, no Tensor objects, weights in any
// WeightType, keys and values in preallocated slots (KVSlots). It computes what GPTModel computes in
// evaluation mode (tests compare the logits), for the learned and sinusoidal positions of GPT-2's
// family; rotary and ALiBi models generate through GPTModel's own path.
//
// One call runs a batch of rows, each a token at a position of a slot:
//   decode    one row per active sequence — one weight read serves them all;
//   prefill   the prompt's rows of one slot (a chunk of them at a time in the serving engine).
// Rows of one slot must be consecutive, in position order, continuing what the slot holds.
//
//   x (m, C) = wte[token] + wpe[position]
//   per block:  h = ln_1(x); qkv = h W_attn + b (m, 3C); keys/values → slot cache;
//               a = causal attention of each slot's run of queries over its cache (m, C)
//               x += a W_proj + b;  x += gelu(ln_2(x) W_fc + b) W_fc_proj + b
//   logits (rows asked for, V) = ln_f(x) W_head
//
// Batch invariance: with at most LLM_ROW_KERNEL_MAX_M rows every product runs a fixed per-row
// operation order (WeightMatrix.apply), layer norm and GELU are per row, and attention runs per slot,
// so a sequence's logits are bit-identical alone or decoded among others.

import CKernels
import Foundation
import NN
import Tensors

public final class InferenceModel: @unchecked Sendable { // immutable after init; `forward` needs one caller at a time per KVSlots
    struct Norm {
        let weight: [Float], bias: [Float]
    }

    struct Block {
        let norm1: Norm, norm2: Norm
        let qkv: WeightMatrix, projection: WeightMatrix, expand: WeightMatrix, contract: WeightMatrix
        let qkvBias: [Float]?, projectionBias: [Float]?, expandBias: [Float]?, contractBias: [Float]?
    }

    public let config: GPTConfig
    let tokenEmbedding: WeightMatrix // (V, C)
    let positions: [Float]?          // (context, C), learned or sinusoidal
    let blocks: [Block]
    let finalNorm: Norm
    let head: WeightMatrix           // (V, C); the token embedding itself when tied

    init(config: GPTConfig, tokenEmbedding: WeightMatrix, positions: [Float]?, blocks: [Block], finalNorm: Norm, head: WeightMatrix) {
        self.config = config
        self.tokenEmbedding = tokenEmbedding
        self.positions = positions
        self.blocks = blocks
        self.finalNorm = finalNorm
        self.head = head
    }

    /// Rows up to which every product runs each row's own fixed order: a forward pass of at most this many
    /// rows gives each row the same numbers whatever the other rows are.
    public static let batchInvariantRows = Int(LLM_ROW_KERNEL_MAX_M)

    /// Whether a model of this configuration can run here (GPT-2's learned or sinusoidal positions).
    public static func supports(_ config: GPTConfig) -> Bool {
        config.architecture == .gpt2 && (config.positionalEncoding == .learned || config.positionalEncoding == .sinusoidal)
    }

    /// A view of a GPTModel's current fp32 weights (no copy; LoRA adapters are merged in copies).
    public convenience init(_ model: GPTModel) throws {
        let config = model.config
        guard InferenceModel.supports(config) else {
            throw GPTError(description: "the fast inference path runs GPT-2's family with learned or sinusoidal positions, not \(config.architecture.rawValue) with \(config.positionalEncoding.rawValue)")
        }
        func norm(_ n: any Normalization) -> Norm {
            let n = n as! LayerNorm // GPT-2's family (checked above)
            return Norm(weight: n.weight.scalars, bias: n.bias.scalars)
        }
        func linear(_ l: Linear) -> (WeightMatrix, [Float]?) {
            let merged = l.merged()
            return (WeightMatrix(borrowingInputsByOutputs: merged.weight), merged.bias?.scalars)
        }
        let blocks = model.blocks.map { b -> Block in
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
                  qkvBias: b.qkvBias, projectionBias: b.projectionBias, expandBias: b.expandBias, contractBias: b.contractBias)
        }
        let headType = headType ?? type
        let embedding = try tokenEmbedding.converted(to: tied ? headType : type)
        let head = tied ? embedding : try self.head.converted(to: headType)
        return InferenceModel(config: config, tokenEmbedding: embedding, positions: positions, blocks: blocks,
                              finalNorm: finalNorm, head: head)
    }

    /// The same weights with a shorter context (smaller KV slots when serving).
    public func withContextLength(_ length: Int) -> InferenceModel {
        precondition(length >= 1 && length <= config.contextLength)
        var c = config
        c.contextLength = length
        return InferenceModel(config: c, tokenEmbedding: tokenEmbedding, positions: positions.map { Array($0.prefix(length * c.embeddingSize)) },
                              blocks: blocks, finalNorm: finalNorm, head: head)
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

    /// `forward`, letting `inspect` see each block's queries, keys and values ((m, 3C) rows) as they are
    /// computed; it returns false to stop there (InferenceModel+Inspection.swift).
    func forward(tokens: [Int], slots: [Int], positions rowPositions: [Int], cache: KVSlots, logitsFor: [Int],
                 inspect: ((_ layer: Int, _ qkv: UnsafePointer<Float>) -> Bool)?) -> [Float] {
        let m = tokens.count, c = config.embeddingSize, heads = config.heads, hd = c / heads
        precondition(slots.count == m && rowPositions.count == m && m > 0)
        for r in 0..<m {
            precondition(rowPositions[r] < config.contextLength, "position \(rowPositions[r]) is past the context length")
            precondition(rowPositions[r] == cache.length(slots[r]) + (0..<r).filter { slots[$0] == slots[r] }.count,
                         "row \(r) does not continue slot \(slots[r])")
        }
        // Workspace: x, h, attention output (m, C); qkv (m, 3C); feed-forward (m, 4C); mean, rstd (m); lse (H, m).
        let work = RawStorage(byteCount: 4 * (m * c * 3 + m * 3 * c + m * 4 * c + 2 * m + heads * m))
        let x = work.pointer.assumingMemoryBound(to: Float.self)
        let h = x + m * c, attended = h + m * c, qkv = attended + m * c, ff = qkv + 3 * m * c
        let mean = ff + 4 * m * c, rstd = mean + m, lse = rstd + m

        for r in 0..<m { // embeddings
            let row = x + r * c
            tokenEmbedding.row(tokens[r], into: row)
            if let positions {
                positions.withUnsafeBufferPointer { p in
                    for i in 0..<c { row[i] += p[rowPositions[r] * c + i] }
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
            layerNorm(block.norm1, x, h, mean, rstd, m)
            apply(block.qkv, h, m, block.qkvBias, qkv)
            if let inspect, !inspect(l, qkv) { return [] }
            for r in 0..<m { // cache this row's key and value
                let keys = cache.buffer(slots[r], layer: l, 0), values = cache.buffer(slots[r], layer: l, 1)
                (keys + rowPositions[r] * c).update(from: qkv + r * 3 * c + c, count: c)
                (values + rowPositions[r] * c).update(from: qkv + r * 3 * c + 2 * c, count: c)
            }
            for (first, count) in runs {
                let slot = slots[first], known = rowPositions[first] + count
                llm_attention_forward(qkv + first * 3 * c, cache.buffer(slot, layer: l, 0), cache.buffer(slot, layer: l, 1),
                                      attended + first * c, lse, 1, heads, count, known, hd,
                                      llm_attention_strides(batch: 0, head: hd, row: 3 * c),
                                      llm_attention_strides(batch: 0, head: hd, row: c),
                                      llm_attention_strides(batch: 0, head: hd, row: c), scale, 1, 0, 0)
            }
            apply(block.projection, attended, m, block.projectionBias, h)
            add(h, into: x, m * c)
            layerNorm(block.norm2, x, h, mean, rstd, m)
            apply(block.expand, h, m, block.expandBias, ff)
            llm_gelu_forward(ff, ff, m * 4 * c)
            apply(block.contract, ff, m, block.contractBias, h)
            add(h, into: x, m * c)
        }
        for r in 0..<m { cache.record(slots[r], token: tokens[r]) }

        // Only the rows asked for go through the final norm and the head (prefill needs just the last).
        let wanted = logitsFor.count
        guard wanted > 0 else { return [] }
        for (i, r) in logitsFor.enumerated() { (h + i * c).update(from: x + r * c, count: c) }
        layerNorm(finalNorm, h, attended, mean, rstd, wanted)
        var logits = [Float](repeating: 0, count: wanted * config.vocabSize)
        logits.withUnsafeMutableBufferPointer { apply(head, attended, wanted, nil, $0.baseAddress!) }
        return logits
    }

    private func apply(_ w: WeightMatrix, _ x: UnsafeMutablePointer<Float>, _ m: Int, _ bias: [Float]?, _ y: UnsafeMutablePointer<Float>) {
        if let bias {
            bias.withUnsafeBufferPointer { w.apply(x, rows: m, bias: $0.baseAddress!, into: y) }
        } else {
            w.apply(x, rows: m, bias: nil, into: y)
        }
    }

    private func layerNorm(_ n: Norm, _ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                           _ mean: UnsafeMutablePointer<Float>, _ rstd: UnsafeMutablePointer<Float>, _ m: Int) {
        n.weight.withUnsafeBufferPointer { w in
            n.bias.withUnsafeBufferPointer { b in
                llm_layernorm_forward(x, w.baseAddress!, b.baseAddress!, y, mean, rstd, m, config.embeddingSize, config.layerNormEpsilon)
            }
        }
    }

    private func add(_ a: UnsafeMutablePointer<Float>, into x: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count { x[i] += a[i] }
    }
}
