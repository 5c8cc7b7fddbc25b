// From token states to one vector per text, as sentence-transformers' Pooling module does it: the mean of the
// tokens' states (padding left out), the [CLS] state, the element-wise maximum, or the last token's state
// (decoder embedders); then, with Normalize, scaled to length 1 so a dot product is the cosine.

import Foundation

public enum SentencePooling: String, Sendable, CaseIterable {
    case mean, cls, max, lastToken = "lasttoken"

    /// hidden (B, T, C) row-major, mask (B × T: 1 token, 0 padding) → B vectors of C.
    public func pool(_ hidden: [Float], mask: [Int], batch: Int, width c: Int, normalize: Bool) -> [[Float]] {
        let t = mask.count / batch
        return (0..<batch).map { b in
            let rows = (0..<t).filter { mask[b * t + $0] != 0 }
            func row(_ i: Int) -> ArraySlice<Float> { hidden[((b * t + i) * c)..<((b * t + i + 1) * c)] }
            var v: [Float]
            switch self {
            case .cls: v = Array(row(0))
            case .lastToken: v = Array(row(rows.last ?? 0))
            case .max:
                v = [Float](repeating: -.greatestFiniteMagnitude, count: c)
                for i in rows { for (k, x) in row(i).enumerated() { v[k] = Swift.max(v[k], x) } }
            case .mean:
                v = [Float](repeating: 0, count: c)
                for i in rows { for (k, x) in row(i).enumerated() { v[k] += x } }
                let n = Float(Swift.max(rows.count, 1))
                v = v.map { $0 / n }
            }
            if normalize {
                let norm = Swift.max(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12) // torch's F.normalize eps
                v = v.map { $0 / norm }
            }
            return v
        }
    }
}
