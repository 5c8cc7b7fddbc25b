// Rotary position embeddings (RoPE, Su et al. 2021) as Llama and Qwen use them (the bonus chapters'
// step 2): each query and key vector is cut into pairs (i, i + d/2), "rotate half" layout, and pair i is
// rotated by the angle position * θ_i, with θ_i = base^(-2i/d). A dot product of two rotated vectors
// then depends only on how far apart the tokens are. GPT-2 has no rotation; it adds learned positions.
//
// Llama 3 (and 3.1/3.2) stretch the low frequencies so a model trained on 8K tokens reads 128K
// ("rope_scaling": {"rope_type": "llama3", ...}): wavelengths longer than original_context /
// low_freq_factor are divided by `factor`, shorter than original_context / high_freq_factor are kept,
// and those in between are blended smoothly. The base ("rope_theta") is 10,000 in the original paper
// and GPT-NeoX, 500,000 in Llama 3, 1,000,000 in Qwen3.

import Foundation
import Tensors

/// Llama 3's frequency scaling (`rope_scaling` with `rope_type` "llama3" in config.json).
public struct Llama3RopeScaling: Codable, Equatable, Sendable {
    public var factor: Double
    public var lowFrequencyFactor: Double
    public var highFrequencyFactor: Double
    public var originalContextLength: Int

    public init(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalContextLength: Int) {
        self.factor = factor
        self.lowFrequencyFactor = lowFrequencyFactor
        self.highFrequencyFactor = highFrequencyFactor
        self.originalContextLength = originalContextLength
    }

    enum CodingKeys: String, CodingKey {
        case type = "rope_type", factor, lowFrequencyFactor = "low_freq_factor", highFrequencyFactor = "high_freq_factor"
        case originalContextLength = "original_max_position_embeddings"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decodeIfPresent(String.self, forKey: .type) ?? "default"
        guard type == "llama3" else {
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "rope_type \"\(type)\" is not supported (only llama3)")
        }
        factor = try c.decode(Double.self, forKey: .factor)
        lowFrequencyFactor = try c.decode(Double.self, forKey: .lowFrequencyFactor)
        highFrequencyFactor = try c.decode(Double.self, forKey: .highFrequencyFactor)
        originalContextLength = try c.decode(Int.self, forKey: .originalContextLength)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("llama3", forKey: .type)
        try c.encode(factor, forKey: .factor)
        try c.encode(lowFrequencyFactor, forKey: .lowFrequencyFactor)
        try c.encode(highFrequencyFactor, forKey: .highFrequencyFactor)
        try c.encode(originalContextLength, forKey: .originalContextLength)
    }

    /// θ_i after scaling, as `transformers`' `_compute_llama3_parameters` computes it.
    func scale(_ frequency: Double) -> Double {
        let wavelength = 2 * Double.pi / frequency
        let old = Double(originalContextLength)
        if wavelength < old / highFrequencyFactor { return frequency }           // high frequencies: kept
        if wavelength > old / lowFrequencyFactor { return frequency / factor }   // low frequencies: stretched
        let smooth = (old / wavelength - lowFrequencyFactor) / (highFrequencyFactor - lowFrequencyFactor)
        return (1 - smooth) * frequency / factor + smooth * frequency
    }
}

public struct RotaryEmbedding: Sendable {
    public let headDimension: Int
    /// θ_i for i in 0..<d/2.
    public let frequencies: [Double]

    public init(headDimension d: Int, base: Double = 10_000, scaling: Llama3RopeScaling? = nil) {
        precondition(d % 2 == 0, "rotary embeddings need an even head dimension, got \(d)")
        headDimension = d
        frequencies = (0..<(d / 2)).map { i in
            let theta = Foundation.pow(base, -2 * Double(i) / Double(d))
            return scaling?.scale(theta) ?? theta
        }
    }

    /// Given frequencies θ_i (d/2 of them), as a GGUF file's base and rope_freqs factors define them.
    public init(frequencies: [Double]) {
        headDimension = 2 * frequencies.count
        self.frequencies = frequencies
    }

    /// cos and sin at positions start..<start+count, each (count, d), θ_i repeated for both halves.
    public func tables(start: Int, count: Int) -> (cos: Tensor, sin: Tensor) {
        let d = headDimension, half = d / 2
        var c = [Float](repeating: 0, count: count * d), s = c
        for p in 0..<count {
            for i in 0..<half {
                let angle = Double(start + p) * frequencies[i]
                for k in [i, i + half] {
                    c[p * d + k] = Float(Foundation.cos(angle))
                    s[p * d + k] = Float(Foundation.sin(angle))
                }
            }
        }
        return (Tensor(c, shape: [count, d]), Tensor(s, shape: [count, d]))
    }

    /// Rotates x (..., T, d) whose first row is at position `start`: x * cos + rotateHalf(x) * sin, where
    /// rotateHalf turns (x1, x2) into (-x2, x1). Built from differentiable ops, so gradients flow through it.
    public func callAsFunction(_ x: Tensor, start: Int = 0) -> Tensor {
        let t = x.shape[x.rank - 2], d = x.shape[x.rank - 1]
        precondition(d == headDimension, "rotary embedding for head dimension \(headDimension) applied to \(d)")
        let (cos, sin) = tables(start: start, count: t)
        let halves = x.split([d / 2, d / 2], axis: -1)
        let rotated = Tensor.concat([-halves[1], halves[0]], axis: -1)
        return x * cos + rotated * sin
    }
}
