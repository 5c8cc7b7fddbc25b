// Telling the model where each token is. Attention itself is blind to order, so positions are added
// to the embeddings (absolute) or folded into attention (relative, rotary):
//
// - learned absolute (GPT-2): a trainable (context, C) table added to the token embeddings;
// - sinusoidal ("Attention Is All You Need"): a fixed table, PE[p, 2i] = sin(p / 10000^(2i/C)),
//   PE[p, 2i+1] = cos(p / 10000^(2i/C));
// - relative, ALiBi-style: no table; attention score (i, j) gets -m_h * (i - j), a penalty growing
//   with distance, with one slope m_h per head (2^(-8h/H));
// - rotary (RoPE): queries and keys are rotated by angles proportional to their position, so q·k
//   depends only on the offset between them.

import Foundation
import Tensors

/// Which positional scheme a model uses (the value is what `config.json` stores).
public enum PositionalEncodingKind: String, Codable, CaseIterable, Sendable {
    case learned, sinusoidal, alibi, rotary
}

public enum PositionalEncoding {
    /// The fixed sinusoidal table (positions, dimensions).
    public static func sinusoidal(positions: Int, dimensions: Int) -> Tensor {
        var values = [Float](repeating: 0, count: positions * dimensions)
        for p in 0..<positions {
            for i in stride(from: 0, to: dimensions, by: 2) {
                let angle = Double(p) / Foundation.pow(10_000, Double(i) / Double(dimensions))
                values[p * dimensions + i] = Float(Foundation.sin(angle))
                if i + 1 < dimensions { values[p * dimensions + i + 1] = Float(Foundation.cos(angle)) }
            }
        }
        return Tensor(values, shape: [positions, dimensions])
    }

    /// ALiBi slopes for `heads` heads: 2^(-8/H), 2^(-16/H), ... (Press et al., 2022).
    public static func alibiSlopes(heads: Int) -> [Float] {
        (1...heads).map { Float(Foundation.pow(2, -8 * Double($0) / Double(heads))) }
    }

    /// The relative bias added to attention scores: (heads, queries, keys) with entry -m_h * (i - j),
    /// where query i sits at position `keys - queries + i` (so a cached query block lines up with its keys).
    public static func alibiBias(heads: Int, queries: Int, keys: Int) -> Tensor {
        let slopes = alibiSlopes(heads: heads)
        var values = [Float](repeating: 0, count: heads * queries * keys)
        for h in 0..<heads {
            for i in 0..<queries {
                let position = keys - queries + i
                for j in 0..<keys { values[(h * queries + i) * keys + j] = -slopes[h] * Float(position - j) }
            }
        }
        return Tensor(values, shape: [heads, queries, keys])
    }

    /// cos and sin tables for rotary embeddings at positions start..<start+count, each (count, headDim),
    /// with frequencies 10000^(-2i/d) repeated for the two halves (the "rotate half" layout of
    /// GPT-NeoX and LLaMA; RotaryEmbedding.swift).
    public static func rotaryTables(start: Int, count: Int, headDim: Int, base: Double = 10_000) -> (cos: Tensor, sin: Tensor) {
        RotaryEmbedding(headDimension: headDim, base: base).tables(start: start, count: count)
    }

    /// Rotates x (..., T, headDim) by position (RotaryEmbedding with GPT-NeoX's base 10,000).
    public static func applyRotary(_ x: Tensor, start: Int = 0) -> Tensor {
        RotaryEmbedding(headDimension: x.shape[x.rank - 1])(x, start: start)
    }
}
