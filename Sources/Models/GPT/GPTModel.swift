// The GPT of chapter 4: token embeddings plus positions, dropout, a stack of transformer blocks, a
// final layer norm, and a linear head that turns each position's vector into logits over the
// vocabulary. Parameter names follow GPT-2 checkpoints ("h.3.attn.c_attn.weight").
//
//   ids (B, T) → wte + wpe (B, T, C) → dropout → [TransformerBlock] × n_layer → ln_f → logits (B, T, V)
//
// A TransformerBlock is pre-norm with residual shortcuts:
//   x = x + dropout(attn(ln_1(x)));  x = x + dropout(mlp(ln_2(x)))
// and the feed-forward network widens to 4C, applies GELU, and narrows back to C.
//
// The Llama 3 and Qwen3 families (config.architecture) are this same decoder with four pieces swapped,
// as the book's bonus chapters convert it: RMSNorm for LayerNorm, grouped-query attention with rotary
// positions for multi-head attention plus learned positions, SwiGLU for the GELU MLP, no biases (and
// Qwen3's q/k norms). Their parameters carry Hugging Face's names for those models
// ("model.layers.3.self_attn.q_proj.weight").

import Foundation
import NN
import Tensors

public final class FeedForward: Module, FeedForwardNetwork {
    public private(set) var expand: Linear   // c_fc: (C, 4C)
    public private(set) var project: Linear  // c_proj: (4C, C)

    init(_ c: Int, std: Float?, projectionStd: Float?, generator: inout SeededGenerator) {
        expand = Linear(c, 4 * c, std: std, generator: &generator)
        project = Linear(4 * c, c, std: projectionStd, generator: &generator)
    }

    override public var children: [(String, Module)] { [("c_fc", expand), ("c_proj", project)] }

    public func callAsFunction(_ x: Tensor) -> Tensor { project(expand(x).gelu()) }

    public func applyLoRA(rank: Int, alpha: Float, generator: inout SeededGenerator) {
        expand = LinearWithLoRA(expand, rank: rank, alpha: alpha, generator: &generator)
        project = LinearWithLoRA(project, rank: rank, alpha: alpha, generator: &generator)
    }

    public func mergeLoRA() {
        expand = expand.merged()
        project = project.merged()
    }
}

public final class TransformerBlock: Module {
    public let norm1: any Normalization, attention: any CausalSelfAttention, norm2: any Normalization
    public let mlp: any FeedForwardNetwork
    let residualDropout: Dropout
    let llamaNames: Bool

    init(_ config: GPTConfig, index: Int, generator: inout SeededGenerator) {
        let c = config.embeddingSize
        llamaNames = config.isLlamaFamily
        if config.isLlamaFamily {
            // Llama's pieces; transformers initialises every linear layer normal(0, initializer_range).
            let std = config.initializerRange
            norm1 = RMSNorm(c, eps: config.layerNormEpsilon)
            attention = GroupedQueryAttention(
                c, heads: config.heads, keyValueHeads: config.keyValueHeads, headDimension: config.headDimension,
                bias: config.qkvBias, rotary: RotaryEmbedding(headDimension: config.headDimension, base: config.ropeTheta,
                                                              scaling: config.ropeScaling),
                headNormEpsilon: config.architecture == .qwen3 ? config.layerNormEpsilon : nil,
                dropout: config.dropout, initStd: std, seed: UInt64(1000 + index), generator: &generator)
            norm2 = RMSNorm(c, eps: config.layerNormEpsilon)
            mlp = SwiGLUFeedForward(c, hidden: config.feedForwardSize, initStd: std, generator: &generator)
            residualDropout = Dropout(0, seed: UInt64(2000 + index)) // Llama has dropout only on attention weights
            return
        }
        // GPT-2 scales the residual projections by 1/sqrt(2 * n_layer) so the residual stream's
        // variance does not grow with depth.
        let gpt2Init = config.initScheme == .gpt2
        let std: Float? = gpt2Init ? config.initializerRange : nil // nil: PyTorch's uniform default
        let projectionStd: Float? = gpt2Init ? config.initializerRange / (2 * Float(config.layers)).squareRoot() : nil
        norm1 = LayerNorm(c, eps: config.layerNormEpsilon)
        attention = MultiHeadAttention(c, c, heads: config.heads, dropout: config.dropout, qkvBias: config.qkvBias,
                                       positions: config.positionalEncoding, initStd: std,
                                       projectionStd: projectionStd, seed: UInt64(1000 + index), generator: &generator)
        norm2 = LayerNorm(c, eps: config.layerNormEpsilon)
        mlp = FeedForward(c, std: std, projectionStd: projectionStd, generator: &generator)
        residualDropout = Dropout(config.dropout, seed: UInt64(2000 + index))
    }

    override public var children: [(String, Module)] {
        llamaNames
            ? [("input_layernorm", norm1), ("self_attn", attention), ("post_attention_layernorm", norm2), ("mlp", mlp),
               ("drop", residualDropout)]
            : [("ln_1", norm1), ("attn", attention), ("ln_2", norm2), ("mlp", mlp), ("drop", residualDropout)]
    }

    /// x (B, T, C) → (B, T, C). With a cache, x holds only the new positions and the cache the earlier ones.
    public func callAsFunction(_ x: Tensor, cache: LayerCache? = nil) -> Tensor {
        let h = norm1(x)
        let attended: Tensor
        if let cache {
            let (q, k, v) = attention.projectHeads(h, start: cache.length)
            let (keys, values) = cache.append(k: k, v: v)
            attended = attention.attend(q: q, k: keys, v: values)
        } else {
            attended = attention(h)
        }
        let x = x + residualDropout(attended)
        return x + residualDropout(mlp(norm2(x)))
    }
}

public final class GPTModel: Module {
    public let config: GPTConfig
    public let tokenEmbedding: Embedding          // wte (V, C)
    public let positionEmbedding: Embedding?      // wpe (context, C), learned positions only
    public let sinusoidTable: Tensor?                    // fixed table, sinusoidal positions only
    public let blocks: [TransformerBlock]
    public let finalNorm: any Normalization
    /// lm_head (V, C), or nil when tied to `tokenEmbedding`.
    public let outputHead: Tensor?
    let embeddingDropout: Dropout

    public init(_ config: GPTConfig, seed: UInt64 = 0) throws {
        try config.validate()
        try MemoryCheck.weights(config)
        self.config = config
        var g = SeededGenerator(seed: seed)
        let gpt2Init = config.initScheme == .gpt2
        let std = gpt2Init ? config.initializerRange : 1 // nn.Embedding's default is normal(0, 1)
        tokenEmbedding = Embedding(config.vocabSize, config.embeddingSize, std: std, generator: &g)
        positionEmbedding = config.positionalEncoding == .learned
            ? Embedding(config.contextLength, config.embeddingSize, std: std, generator: &g) : nil
        sinusoidTable = config.positionalEncoding == .sinusoidal
            ? PositionalEncoding.sinusoidal(positions: config.contextLength, dimensions: config.embeddingSize) : nil
        blocks = (0..<config.layers).map { TransformerBlock(config, index: $0, generator: &g) }
        finalNorm = config.isLlamaFamily ? RMSNorm(config.embeddingSize, eps: config.layerNormEpsilon)
                                         : LayerNorm(config.embeddingSize, eps: config.layerNormEpsilon)
        let bound = 1 / Float(config.embeddingSize).squareRoot()
        outputHead = config.tieWordEmbeddings ? nil
            : gpt2Init ? Tensor.normal([config.vocabSize, config.embeddingSize], std: std, generator: &g, requiresGrad: true)
                       : Tensor.uniform([config.vocabSize, config.embeddingSize], low: -bound, high: bound, generator: &g, requiresGrad: true)
        embeddingDropout = Dropout(config.isLlamaFamily ? 0 : config.dropout, seed: seed &+ 17) // Llama: none
    }

    override public var ownParameters: [(String, Tensor)] { outputHead.map { [("lm_head.weight", $0)] } ?? [] }

    override public var children: [(String, Module)] {
        if config.isLlamaFamily {
            return [("model.embed_tokens", tokenEmbedding), ("drop", embeddingDropout)]
                + blocks.enumerated().map { ("model.layers.\($0.offset)", $0.element) } + [("model.norm", finalNorm)]
        }
        var c: [(String, Module)] = [("wte", tokenEmbedding), ("drop", embeddingDropout)]
        if let positionEmbedding { c.append(("wpe", positionEmbedding)) }
        c += blocks.enumerated().map { ("h.\($0.offset)", $0.element) }
        c.append(("ln_f", finalNorm))
        return c
    }

    /// Logits (B, T, V) for ids (B, T) given row-major. With a cache, `ids` are the new tokens only.
    public func callAsFunction(_ ids: [Int], batch: Int, cache: KVCache? = nil) -> Tensor {
        hidden(ids, batch: batch, cache: cache).matmulTransposed(outputHead ?? tokenEmbedding.weight)
    }

    /// The final hidden states (B, T, C), before the output head (classifiers put their own head here).
    public func hidden(_ ids: [Int], batch: Int, cache: KVCache? = nil) -> Tensor {
        var x = embed(ids, batch: batch, start: cache?.length ?? 0)
        for (i, block) in blocks.enumerated() { x = block(x, cache: cache?.layers[i]) }
        return finalNorm(x)
    }

    /// What enters block `count` (B, T, C): the embedded tokens after blocks 0..<count.
    public func hidden(_ ids: [Int], batch: Int, throughBlocks count: Int) -> Tensor {
        var x = embed(ids, batch: batch, start: 0)
        for block in blocks.prefix(count) { x = block(x) }
        return x
    }

    /// The final hidden states from `x` (B, T, C) entering block `first`: the remaining blocks and the final norm.
    public func hidden(continuing x: Tensor, fromBlock first: Int) -> Tensor {
        var x = x
        for block in blocks.dropFirst(first) { x = block(x) }
        return finalNorm(x)
    }

    /// Token embeddings plus positions (from `start`), with dropout: (B, T, C).
    func embed(_ ids: [Int], batch: Int, start: Int) -> Tensor {
        let t = ids.count / batch
        precondition(start + t <= config.contextLength,
                     "\(start + t) positions exceed the context length \(config.contextLength); crop the input")
        var x = tokenEmbedding(ids, shape: [batch, t])                                         // (B, T, C)
        if let positionEmbedding {
            x = x + positionEmbedding(Array(start..<(start + t)), shape: [t])                   // (T, C) broadcast
        } else if let sinusoidTable {
            x = x + sinusoidTable.narrow(0, start: start, length: t)
        }
        return embeddingDropout(x)
    }
}

extension GPTModel {
    /// The attention weights (heads, T, T) of block `layer` for one sequence: what each token attends
    /// to, for looking at (the forward pass runs without dropout and without recording gradients).
    public func attentionWeights(_ ids: [Int], layer: Int) -> Tensor {
        precondition(layer >= 0 && layer < blocks.count, "layer \(layer) outside 0..<\(blocks.count)")
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        return Autograd.withNoGrad {
            let x = hidden(ids, batch: 1, throughBlocks: layer)
            let (q, k, _) = blocks[layer].attention.projectHeads(blocks[layer].norm1(x))
            return blocks[layer].attention.attentionWeights(q: q, k: k).squeezed(0)
        }
    }
}

/// Keys and values of the positions seen so far, per layer, so that generating one more token costs
/// one position of work instead of the whole prefix.
public final class KVCache {
    public let layers: [LayerCache]
    public init(layers: Int) { self.layers = (0..<layers).map { _ in LayerCache() } }
    /// Positions cached so far.
    public var length: Int { layers.first?.length ?? 0 }
}

public final class LayerCache {
    var keys: Tensor?, values: Tensor? // (B, H, T, hd)
    public var length: Int { keys?.shape[2] ?? 0 }

    /// Appends the new keys and values (B, H, t, hd) and returns all of them.
    func append(k: Tensor, v: Tensor) -> (Tensor, Tensor) {
        let k = k.detached(), v = v.detached() // generation only: nothing flows back through the cache
        keys = keys.map { Tensor.concat([$0, k], axis: 2) } ?? k
        values = values.map { Tensor.concat([$0, v], axis: 2) } ?? v
        return (keys!, values!)
    }
}
