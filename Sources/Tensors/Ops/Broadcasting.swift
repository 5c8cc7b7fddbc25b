// NumPy/PyTorch broadcasting: shapes are aligned on the right; a dimension of 1 (or a missing one)
// stretches to match the other operand. Broadcast operands are never copied: they are read with a
// stride of 0 along stretched dimensions, and gradients flowing back are summed over those dimensions.

/// The shape `a` and `b` broadcast to; traps naming both shapes when they are incompatible.
func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
    let rank = Swift.max(a.count, b.count)
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        precondition(da == db || da == 1 || db == 1, "shapes \(a) and \(b) cannot be broadcast together")
        out[i] = da == 1 ? db : da
    }
    return out
}

/// Element strides for reading a contiguous tensor of `shape` as if it had `outShape` (0 where stretched).
func broadcastStrides(_ shape: [Int], to outShape: [Int]) -> [Int] {
    let own = contiguousStrides(shape)
    let offset = outShape.count - shape.count
    return (0..<outShape.count).map { i in
        i < offset || shape[i - offset] == 1 ? 0 : own[i - offset]
    }
}

/// Walks `outShape` one innermost row at a time. For each row, `body` gets the flat offset of the row
/// in the output and in each operand, the row length, and each operand's step along the row.
func forEachBroadcastRow(_ outShape: [Int], _ operandStrides: [[Int]],
                         _ body: (_ out: Int, _ operands: [Int], _ length: Int, _ steps: [Int]) -> Void) {
    let total = shapeCount(outShape)
    guard total > 0 else { return }
    let rank = outShape.count
    let length = rank == 0 ? 1 : outShape[rank - 1]
    let steps = operandStrides.map { rank == 0 ? 0 : $0[rank - 1] }
    var index = [Int](repeating: 0, count: Swift.max(rank - 1, 0))
    var offsets = [Int](repeating: 0, count: operandStrides.count)
    var out = 0
    while out < total {
        body(out, offsets, length, steps)
        out += length
        // Advance the multi-index over the leading dimensions, updating each operand's offset.
        var axis = rank - 2
        while axis >= 0 {
            index[axis] += 1
            for k in 0..<offsets.count { offsets[k] += operandStrides[k][axis] }
            if index[axis] < outShape[axis] { break }
            for k in 0..<offsets.count { offsets[k] -= operandStrides[k][axis] * outShape[axis] }
            index[axis] = 0
            axis -= 1
        }
    }
}

extension Tensor {
    /// This tensor stretched to `shape` by broadcasting (a copy); its gradient sums back.
    public func expanded(to shape: [Int]) -> Tensor {
        precondition(broadcastShape(self.shape, shape) == shape, "shape \(self.shape) cannot be expanded to \(shape)")
        if shape == self.shape { return self }
        let out = Tensor(uninitializedShape: shape)
        let strides = [broadcastStrides(self.shape, to: shape)]
        let src = pointer, dst = out.pointer
        forEachBroadcastRow(shape, strides) { o, offsets, length, steps in
            for i in 0..<length { dst[o + i] = src[offsets[0] + i * steps[0]] }
        }
        return out.recording("expand", [self]) { output in
            let g = output.gradPointer()
            self.updateGrad { dx in
                forEachBroadcastRow(shape, strides) { o, offsets, length, steps in
                    for i in 0..<length { dx[offsets[0] + i * steps[0]] += g[o + i] }
                }
            }
        }
    }
}
