// What a configuration will cost in memory, computed from its numbers before anything is allocated,
// so a config.json with an absurd size ("vocab_size": 1000000000000) is refused with a sentence instead
// of the process dying in the allocator.
//
//   parameters   V·C (token embedding) + T·C (learned positions) + per block 12·C² + 13·C (attention and
//                feed-forward weights, biases, two layer norms; 3·C less without the qkv bias)
//                + 2·C (final norm) + V·C when the head is not tied
//   training     4 bytes per parameter each for the weights, gradients and AdamW's two moments, plus the
//                activations kept for the backward pass: per block about 34·C floats a token plus the
//                attention weights (H·T per token), and the logits with their gradient (2·V per token).

import Foundation

extension GPTConfig {
    /// Parameters of a GPTModel of this configuration (equal to `GPTModel(config).parameterCount`, tested).
    public var parameterCount: Int { Int(parameters) }

    /// The same count in Double, so absurd sizes (10^12 x 768) give a large number instead of an Int overflow trap.
    var parameters: Double {
        if isLlamaFamily { return llamaFamilyParameters }
        let c = Double(embeddingSize), v = Double(vocabSize)
        var blocks = 12 * c * c + 13 * c
        if !qkvBias { blocks -= 3 * c }
        var total = v * c + Double(layers) * blocks + 2 * c
        if positionalEncoding == .learned { total += Double(contextLength) * c }
        if !tieWordEmbeddings { total += v * c }
        return total
    }

    /// Llama / Qwen3: per block q and o (C·H·hd each), k and v (C·K·hd each), their biases if any, SwiGLU's
    /// three C·I matrices, two RMSNorm weights (C) and Qwen3's q/k norms (2·hd); no positions, no other biases.
    private var llamaFamilyParameters: Double {
        let c = Double(embeddingSize), v = Double(vocabSize), hd = Double(headDimension)
        let q = Double(heads) * hd, kv = Double(keyValueHeads) * hd
        var block = 2 * c * q + 2 * c * kv + 3 * c * Double(feedForwardSize) + 2 * c
        if qkvBias { block += q + 2 * kv + c } // attention_bias: q, k, v and o
        if architecture == .qwen3 { block += 2 * hd }
        return v * c * (tieWordEmbeddings ? 1 : 2) + Double(layers) * block + c
    }

    /// Bytes to hold the fp32 weights.
    public var weightBytes: Double { parameters * 4 }

    /// Bytes a training step needs: weights, gradients, AdamW moments and activations for a batch.
    public func trainingBytes(batchSize: Int, contextLength t: Int) -> Double {
        let tokens = Double(batchSize) * Double(t)
        let activations = tokens * (Double(layers) * (34 * Double(embeddingSize) + Double(heads) * Double(t)) + 2 * Double(vocabSize)) * 4
        return 4 * weightBytes + activations
    }
}

public enum MemoryCheck {
    /// The machine's memory in bytes.
    public static var physicalMemory: Double { Double(ProcessInfo.processInfo.physicalMemory) }

    static func gigabytes(_ bytes: Double) -> String { String(format: "%.1f GB", bytes / 1e9) }

    /// Refuses a model whose weights alone cannot fit in this machine's memory.
    public static func weights(_ config: GPTConfig) throws {
        let bytes = config.weightBytes
        guard bytes <= physicalMemory else {
            throw GPTError(description: "this model needs about \(gigabytes(bytes)) for its weights (vocab_size \(config.vocabSize), " +
                           "n_embd \(config.embeddingSize), n_layer \(config.layers)), more than this machine's \(gigabytes(physicalMemory))")
        }
    }

    /// Refuses a training run whose weights, optimizer state and activations cannot fit in memory.
    public static func training(_ config: GPTConfig, batchSize: Int, contextLength: Int) throws {
        try weights(config)
        let weightBytes = config.weightBytes, total = config.trainingBytes(batchSize: batchSize, contextLength: contextLength)
        guard total <= physicalMemory else {
            throw GPTError(description: "training this model needs about \(gigabytes(total)) (weights, gradients and AdamW state " +
                           "\(gigabytes(4 * weightBytes)), activations \(gigabytes(total - 4 * weightBytes)) for batches of \(batchSize) × " +
                           "\(contextLength) tokens), more than this machine's \(gigabytes(physicalMemory)); use a smaller --batch-size " +
                           "or --context-length, or a smaller model")
        }
    }
}
