// Embedding lookup: row `id` of a (V, C) weight matrix for each id. It equals multiplying one-hot
// vectors by the weights, without building them. The backward pass scatter-adds each output
// gradient row into the row it came from (rows of repeated ids receive several).

extension Tensor {
    /// Gathers rows of this (V, C) matrix: the result has shape `idsShape + [C]`.
    public func embedding(_ ids: [Int], shape idsShape: [Int]) -> Tensor {
        precondition(rank == 2, "embedding weights must be (vocabulary, channels), got \(shape)")
        precondition(shapeCount(idsShape) == ids.count, "\(ids.count) ids do not fill shape \(idsShape)")
        let vocab = shape[0], channels = shape[1]
        for id in ids { precondition(id >= 0 && id < vocab, "token id \(id) outside the vocabulary of \(vocab)") }
        let out = Tensor(uninitializedShape: idsShape + [channels])
        for (row, id) in ids.enumerated() {
            (out.pointer + row * channels).update(from: pointer + id * channels, count: channels)
        }
        return out.recording("embedding", [self]) { output in
            let g = output.gradPointer()
            self.updateGrad { dw in
                for (row, id) in ids.enumerated() {
                    let from = g + row * channels, to = dw + id * channels
                    for j in 0..<channels { to[j] += from[j] }
                }
            }
        }
    }
}
