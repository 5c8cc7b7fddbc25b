// Changing shape and picking parts: reshape (shares storage), transpose/permute (copies), slicing
// along an axis, index selection, concat/stack/split.

extension Tensor {
    /// The same elements seen with another shape; one dimension may be -1 (inferred). Shares storage.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let hole = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != hole }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            resolved[hole] = count / known
        }
        precondition(shapeCount(resolved) == count, "cannot reshape \(shape) to \(newShape)")
        let out = Tensor(shape: resolved, storage: storage)
        return out.recording("reshape", [self]) { output in
            self.addGrad(output.gradPointer())
        }
    }

    /// Inserts a dimension of size 1 at `axis`.
    public func unsqueezed(_ axis: Int) -> Tensor {
        var s = shape
        s.insert(1, at: normalizedAxis(axis, rank: rank + 1))
        return reshaped(s)
    }

    /// Removes the dimension `axis`, which must have size 1.
    public func squeezed(_ axis: Int) -> Tensor {
        let a = normalizedAxis(axis, rank: rank)
        precondition(shape[a] == 1, "cannot squeeze axis \(axis) of size \(shape[a]) in shape \(shape)")
        var s = shape
        s.remove(at: a)
        return reshaped(s)
    }

    /// Merges dimensions `start...end` into one.
    public func flattened(from start: Int = 0, through end: Int = -1) -> Tensor {
        guard rank > 0 else { return reshaped([1]) }
        let s = normalizedAxis(start, rank: rank), e = normalizedAxis(end, rank: rank)
        precondition(s <= e, "flatten from axis \(start) through \(end) of shape \(shape)")
        return reshaped(Array(shape[..<s]) + [shape[s...e].reduce(1, *)] + Array(shape[(e + 1)...]))
    }

    /// Dimensions reordered: output dimension i is input dimension `order[i]` (a copy).
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.count == rank && Set(order.map { normalizedAxis($0, rank: rank) }).count == rank,
                     "permutation \(order) is invalid for shape \(shape)")
        let order = order.map { normalizedAxis($0, rank: rank) }
        if order == Array(0..<rank) { return self }
        let outShape = order.map { shape[$0] }
        let inStrides = contiguousStrides(shape)
        let out = Tensor(uninitializedShape: outShape)
        Tensor.copyPermuted(from: pointer, inStrides: order.map { inStrides[$0] }, to: out.pointer, shape: outShape)
        return out.recording("permute", [self]) { output in
            // The gradient goes back through the inverse permutation, added in place.
            let g = output.gradPointer()
            self.updateGrad { dx in
                Tensor.walk(outShape, strides: order.map { inStrides[$0] }) { o, i in dx[i] += g[o] }
            }
        }
    }

    /// Swaps two dimensions (a copy).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(normalizedAxis(a, rank: rank), normalizedAxis(b, rank: rank))
        return permuted(order)
    }

    /// Calls `body(outputOffset, inputOffset)` for every element of `shape`, in row-major order of the
    /// output, where the input is read with `strides`.
    static func walk(_ shape: [Int], strides: [Int], _ body: (Int, Int) -> Void) {
        forEachBroadcastRow(shape, [strides]) { o, off, length, step in
            for i in 0..<length { body(o + i, off[0] + i * step[0]) }
        }
    }

    static func copyPermuted(from src: UnsafeMutablePointer<Float>, inStrides: [Int],
                             to dst: UnsafeMutablePointer<Float>, shape: [Int]) {
        forEachBroadcastRow(shape, [inStrides]) { o, off, length, step in
            for i in 0..<length { dst[o + i] = src[off[0] + i * step[0]] }
        }
    }

    // MARK: Slicing and indexing along an axis

    /// Views this tensor as (outer, n, inner) around `axis`: the common layout of axis-wise ops.
    func split3(_ axis: Int) -> (outer: Int, n: Int, inner: Int) {
        let a = normalizedAxis(axis, rank: rank)
        return (shape[..<a].reduce(1, *), shape[a], shape[(a + 1)...].reduce(1, *))
    }

    /// Elements `start..<start+length` along `axis` (a copy), like PyTorch's `narrow`.
    public func narrow(_ axis: Int, start: Int, length: Int) -> Tensor {
        let a = normalizedAxis(axis, rank: rank)
        precondition(start >= 0 && length >= 0 && start + length <= shape[a],
                     "slice \(start)..<\(start + length) out of range for axis \(axis) of shape \(shape)")
        return indexSelect(a, Array(start..<(start + length)))
    }

    /// The slice at `index` along `axis`, with that axis removed.
    public func select(_ axis: Int, _ index: Int) -> Tensor {
        let a = normalizedAxis(axis, rank: rank)
        precondition(index >= -shape[a] && index < shape[a], "index \(index) out of range for axis \(axis) of shape \(shape)")
        return narrow(a, start: index < 0 ? index + shape[a] : index, length: 1).squeezed(a)
    }

    /// The slices at `indices` along `axis`, in that order (repeats allowed). Backward scatters-adds.
    public func indexSelect(_ axis: Int, _ indices: [Int]) -> Tensor {
        let a = normalizedAxis(axis, rank: rank)
        let (outer, n, inner) = split3(a)
        for i in indices { precondition(i >= 0 && i < n, "index \(i) out of range for axis \(axis) of shape \(shape)") }
        var outShape = shape
        outShape[a] = indices.count
        let out = Tensor(uninitializedShape: outShape)
        let src = pointer, dst = out.pointer
        for o in 0..<outer {
            for (k, i) in indices.enumerated() {
                (dst + (o * indices.count + k) * inner).update(from: src + (o * n + i) * inner, count: inner)
            }
        }
        return out.recording("indexSelect", [self]) { output in
            let g = output.gradPointer()
            self.updateGrad { dx in
                for o in 0..<outer {
                    for (k, i) in indices.enumerated() {
                        let from = g + (o * indices.count + k) * inner, to = dx + (o * n + i) * inner
                        for j in 0..<inner { to[j] += from[j] }
                    }
                }
            }
        }
    }

    /// Joins tensors along an existing axis; all other dimensions must agree.
    public static func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concat of no tensors")
        let first = tensors[0]
        let a = normalizedAxis(axis, rank: first.rank)
        for t in tensors {
            precondition(t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == a || t.shape[$0] == first.shape[$0] },
                         "cannot concatenate shapes \(first.shape) and \(t.shape) along axis \(axis)")
        }
        var outShape = first.shape
        outShape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
        let out = Tensor(uninitializedShape: outShape)
        let (outer, total, inner) = out.split3(a)
        var start = 0
        var starts: [Int] = []
        for t in tensors {
            starts.append(start)
            let n = t.shape[a]
            for o in 0..<outer {
                (out.pointer + (o * total + start) * inner).update(from: t.pointer + o * n * inner, count: n * inner)
            }
            start += n
        }
        return out.recording("concat", tensors) { output in
            let g = output.gradPointer()
            for (t, s) in zip(tensors, starts) where t.requiresGrad {
                let n = t.shape[a], dx = t.gradPointer()
                for o in 0..<outer {
                    for j in 0..<(n * inner) { dx[o * n * inner + j] += g[(o * total + s) * inner + j] }
                }
            }
        }
    }

    /// Joins equally shaped tensors along a new axis.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "stack of no tensors")
        for t in tensors { precondition(t.shape == tensors[0].shape, "cannot stack shapes \(tensors[0].shape) and \(t.shape)") }
        return concat(tensors.map { $0.unsqueezed(axis) }, axis: axis)
    }

    /// Cuts along `axis` into pieces of the given sizes (which must add up to the axis length).
    public func split(_ sizes: [Int], axis: Int) -> [Tensor] {
        let a = normalizedAxis(axis, rank: rank)
        precondition(sizes.reduce(0, +) == shape[a] && sizes.allSatisfy { $0 >= 0 },
                     "split sizes \(sizes) do not add up to axis \(axis) of shape \(shape)")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return narrow(a, start: start, length: size)
        }
    }
}
