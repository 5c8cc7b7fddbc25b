// Reductions along an axis (sum, mean, max, argmax, variance) and over all elements.
// Each views the tensor as (outer, n, inner) around the axis and reduces the middle dimension.

extension Tensor {
    private func reducedShape(_ axis: Int, keepingDim: Bool) -> [Int] {
        var s = shape
        if keepingDim { s[axis] = 1 } else { s.remove(at: axis) }
        return s
    }

    /// Sum along `axis`.
    public func sum(axis: Int, keepingDim: Bool = false) -> Tensor {
        let a = normalizedAxis(axis, rank: rank)
        let (outer, n, inner) = split3(a)
        let out = Tensor.zeros(reducedShape(a, keepingDim: keepingDim))
        let src = pointer, dst = out.pointer
        for o in 0..<outer {
            for k in 0..<n {
                let row = src + (o * n + k) * inner, acc = dst + o * inner
                for i in 0..<inner { acc[i] += row[i] }
            }
        }
        return out.recording("sum", [self]) { output in
            let g = output.gradPointer()
            self.updateGrad { dx in
                for o in 0..<outer {
                    for k in 0..<n {
                        for i in 0..<inner { dx[(o * n + k) * inner + i] += g[o * inner + i] }
                    }
                }
            }
        }
    }

    /// Sum of all elements, as a scalar.
    public func sum() -> Tensor {
        var total: Double = 0 // double accumulator: float sums of millions of terms drift
        for i in 0..<count { total += Double(pointer[i]) }
        let out = Tensor(scalar: Float(total))
        return out.recording("sumAll", [self]) { output in
            let g = output.gradPointer()[0]
            self.updateGrad { dx in for i in 0..<self.count { dx[i] += g } }
        }
    }

    /// Mean along `axis`.
    public func mean(axis: Int, keepingDim: Bool = false) -> Tensor {
        sum(axis: axis, keepingDim: keepingDim) / Float(shape[normalizedAxis(axis, rank: rank)])
    }

    /// Mean of all elements, as a scalar.
    public func mean() -> Tensor { sum() / Float(count) }

    /// Variance along `axis`; `unbiased` divides by n - 1 (PyTorch's default), else by n.
    public func variance(axis: Int, keepingDim: Bool = false, unbiased: Bool = true) -> Tensor {
        let n = shape[normalizedAxis(axis, rank: rank)]
        let centered = self - mean(axis: axis, keepingDim: true)
        return (centered * centered).sum(axis: axis, keepingDim: keepingDim) / Float(unbiased ? n - 1 : n)
    }

    /// Index of the largest element along `axis` (first one on ties), as Ints in row-major order.
    public func argmax(axis: Int) -> [Int] {
        let a = normalizedAxis(axis, rank: rank)
        let (outer, n, inner) = split3(a)
        precondition(n > 0, "argmax over an empty axis of shape \(shape)")
        var result = [Int](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                var best = 0
                var bestValue = pointer[o * n * inner + i]
                for k in 1..<Swift.max(n, 1) where pointer[(o * n + k) * inner + i] > bestValue {
                    best = k
                    bestValue = pointer[(o * n + k) * inner + i]
                }
                result[o * inner + i] = best
            }
        }
        return result
    }

    /// Largest element along `axis`; the gradient goes to the (first) maximal element.
    public func max(axis: Int, keepingDim: Bool = false) -> Tensor {
        let a = normalizedAxis(axis, rank: rank)
        let (outer, n, inner) = split3(a)
        let winners = argmax(axis: a)
        let out = Tensor(uninitializedShape: reducedShape(a, keepingDim: keepingDim))
        for o in 0..<outer {
            for i in 0..<inner { out.pointer[o * inner + i] = pointer[(o * n + winners[o * inner + i]) * inner + i] }
        }
        return out.recording("max", [self]) { output in
            let g = output.gradPointer()
            self.updateGrad { dx in
                for o in 0..<outer {
                    for i in 0..<inner { dx[(o * n + winners[o * inner + i]) * inner + i] += g[o * inner + i] }
                }
            }
        }
    }
}
