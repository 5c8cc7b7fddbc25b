// The random number generator behind every seeded operation (initialisation, dropout, shuffling,
// sampling): xoshiro256** (Blackman & Vigna, 2018), its 256-bit state filled from the seed by
// SplitMix64, as its authors recommend. Same seed, same numbers, on every platform.
//
// Floats: uniform values take the top 24 bits of a draw (every float in [0, 1) that is a multiple of
// 2^-24); normal values use the Box-Muller transform on two uniforms. PyTorch's generator (mt19937 +
// its own transforms) is not reproduced: seeds give different numbers there.

import Foundation

public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var s = seed
        func splitMix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotateLeft(state.3, 45)
        return result
    }

    /// A uniform Float in [0, 1).
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// A standard normal Float (Box-Muller).
    public mutating func nextNormal() -> Float {
        let u1 = Swift.max(nextUniform(), 0x1p-24) // log(0) would be -inf
        let u2 = nextUniform()
        return (-2 * logf(u1)).squareRoot() * cosf(2 * Float.pi * u2)
    }

    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

