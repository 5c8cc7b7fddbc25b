// Principal component analysis, for pictures of embeddings: the two directions along which a set of
// vectors varies most (power iteration on the covariance matrix, each component deflated from the next),
// and every vector's coordinates along them — the word2vec-style map of chapter 2.

/// Principal component analysis by power iteration on the covariance matrix (small inputs only).
public enum PCA {
    /// The coordinates of each vector (of `dimensions` numbers) on the first two principal components.
    public static func project(_ vectors: [[Float]], dimensions c: Int) -> [(Double, Double)] {
        let n = Double(vectors.count)
        let mean = (0..<c).map { j in vectors.reduce(0.0) { $0 + Double($1[j]) } / n }
        let centered = vectors.map { v in (0..<c).map { Double(v[$0]) - mean[$0] } }
        func covarianceTimes(_ x: [Double]) -> [Double] {
            var out = [Double](repeating: 0, count: c)
            for row in centered {
                let dot = zip(row, x).reduce(0) { $0 + $1.0 * $1.1 }
                for j in 0..<c { out[j] += dot * row[j] }
            }
            return out
        }
        func normalized(_ x: [Double]) -> [Double] {
            let norm = x.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return norm > 0 ? x.map { $0 / norm } : x
        }
        var components: [[Double]] = []
        for k in 0..<2 {
            var v = normalized((0..<c).map { Double(($0 * 7919 + k * 104_729) % 1000) / 1000 - 0.5 })
            for _ in 0..<200 {
                var w = covarianceTimes(v)
                for u in components { let d = zip(w, u).reduce(0) { $0 + $1.0 * $1.1 }; w = zip(w, u).map { $0 - d * $1 } }
                v = normalized(w)
            }
            components.append(v)
        }
        return centered.map { row in
            (zip(row, components[0]).reduce(0) { $0 + $1.0 * $1.1 }, zip(row, components[1]).reduce(0) { $0 + $1.0 * $1.1 })
        }
    }
}
