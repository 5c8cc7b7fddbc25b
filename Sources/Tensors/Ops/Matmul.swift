// Matrix multiplication, batched, with PyTorch's broadcasting of the batch dimensions.
//
//   a (..., M, K) @ b (..., K, N) -> (..., M, N)
//
// Backward, per batch: dA += dC @ B^T and dB += A^T @ dC. Both run on the same GEMM with transpose
// flags, so no transposed copy is ever made. When `b` has no batch dimensions (the weights of a
// linear layer), the whole batch is one GEMM of (batch * M) rows.
//
// Each op reads `MatmulPrecision.current` once, when it runs forward, and its backward products use the
// same format (autocast's rule: the backward of a bf16 matmul is bf16 too).

/// Shorthand for `Kernels.sgemm` inside the module.
@inline(__always)
func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
          a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
          beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, _ precision: MatmulPrecision) {
    Kernels.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
                  precision: precision)
}

extension Tensor {
    /// Matrix product; 1-D operands are treated as a row (left) or column (right) vector and that
    /// dimension is dropped from the result, as in PyTorch.
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank >= 1 && other.rank >= 1, "matmul needs tensors of rank >= 1, got \(shape) and \(other.shape)")
        if rank == 1 { return unsqueezed(0).matmul(other).squeezed(-2) }
        if other.rank == 1 { return matmul(other.unsqueezed(1)).squeezed(-1) }
        return Tensor.batchedMatmul(self, other)
    }

    /// x (..., K) @ w + bias for a 2-D weight (K, N) and bias (N): a linear layer in one op. The bias
    /// is written into the output rows first and the GEMM accumulates onto it (beta = 1), so no
    /// separate broadcast pass is made; its gradient is the column sums of the output gradient.
    public func linear(_ w: Tensor, bias: Tensor?) -> Tensor {
        let precision = MatmulPrecision.current
        precondition(w.rank == 2 && rank >= 1 && shape.last == w.shape[0],
                     "linear: input \(shape) does not fit weight \(w.shape)")
        guard let bias else { return matmul(w) }
        let k = w.shape[0], n = w.shape[1], rows = count / Swift.max(k, 1)
        precondition(bias.shape == [n], "linear: bias \(bias.shape) for \(n) outputs")
        let out = Tensor(uninitializedShape: Array(shape.dropLast()) + [n])
        for r in 0..<rows { (out.pointer + r * n).update(from: bias.pointer, count: n) }
        gemm(m: rows, n: n, k: k, a: pointer, lda: k, b: w.pointer, ldb: n, beta: 1, c: out.pointer, ldc: n, precision)
        return out.recording("linear", [self, w, bias]) { output in
            let g = output.gradPointer()
            self.writeGrad { dx, add in
                gemm(transB: true, m: rows, n: k, k: n, a: g, lda: n, b: w.pointer, ldb: n, beta: add ? 1 : 0, c: dx, ldc: k, precision)
            }
            w.writeGrad { dw, add in
                gemm(transA: true, m: k, n: n, k: rows, a: self.pointer, lda: k, b: g, ldb: n, beta: add ? 1 : 0, c: dw, ldc: n, precision)
            }
            bias.updateGrad { db in
                for r in 0..<rows {
                    let row = g + r * n
                    for j in 0..<n { db[j] += row[j] }
                }
            }
        }
    }

    /// x (..., K) @ w^T for a 2-D w of shape (N, K) → (..., N), without making w^T: for output heads
    /// tied to an embedding table (V, C) and for weights stored as (out, in).
    public func matmulTransposed(_ w: Tensor) -> Tensor {
        let precision = MatmulPrecision.current
        precondition(w.rank == 2 && rank >= 1 && shape.last == w.shape[1],
                     "matmulTransposed: shapes \(shape) and \(w.shape)^T do not fit")
        let n = w.shape[0], k = w.shape[1], rows = count / Swift.max(k, 1)
        let out = Tensor(uninitializedShape: Array(shape.dropLast()) + [n])
        gemm(transB: true, m: rows, n: n, k: k, a: pointer, lda: k, b: w.pointer, ldb: k, c: out.pointer, ldc: n, precision)
        return out.recording("matmulTransposed", [self, w]) { output in
            let g = output.gradPointer()
            self.writeGrad { dx, add in
                gemm(m: rows, n: k, k: n, a: g, lda: n, b: w.pointer, ldb: k, beta: add ? 1 : 0, c: dx, ldc: k, precision)
            }
            w.writeGrad { dw, add in
                gemm(transA: true, m: n, n: k, k: rows, a: g, lda: n, b: self.pointer, ldb: k, beta: add ? 1 : 0, c: dw, ldc: k, precision)
            }
        }
    }

    private static func batchedMatmul(_ a: Tensor, _ b: Tensor) -> Tensor {
        let precision = MatmulPrecision.current // read here: the batches below may run on pool threads
        let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1], n = b.shape[b.rank - 1]
        precondition(b.shape[b.rank - 2] == k, "matmul: shapes \(a.shape) and \(b.shape) do not fit (\(k) != \(b.shape[b.rank - 2]))")
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        let batch = broadcastShape(batchA, batchB)
        let out = Tensor(uninitializedShape: batch + [m, n])
        let pa = a.pointer, pb = b.pointer, pc = out.pointer

        // Weights without batch dimensions: one tall GEMM.
        if shapeCount(batchB) == 1 && batchA == batch {
            let rows = shapeCount(batch) * m
            gemm(m: rows, n: n, k: k, a: pa, lda: k, b: pb, ldb: n, c: pc, ldc: n, precision)
            return out.recording("matmul", [a, b]) { output in
                let g = output.gradPointer()
                a.writeGrad { da, add in
                    gemm(transB: true, m: rows, n: k, k: n, a: g, lda: n, b: pb, ldb: n, beta: add ? 1 : 0, c: da, ldc: k, precision)
                }
                b.writeGrad { db, add in
                    gemm(transA: true, m: k, n: n, k: rows, a: pa, lda: k, b: g, ldb: n, beta: add ? 1 : 0, c: db, ldc: n, precision)
                }
            }
        }

        // General case: find, for each output matrix, the matrix of `a` and of `b` it reads.
        var pairs: [(a: Int, b: Int)] = []
        forEachBroadcastRow(batch, [broadcastStrides(batchA, to: batch), broadcastStrides(batchB, to: batch)]) { _, off, length, step in
            for i in 0..<length { pairs.append((off[0] + i * step[0], off[1] + i * step[1])) }
        }
        if batch.isEmpty { pairs = [(0, 0)] }
        let aDistinct = Set(pairs.map(\.a)).count == pairs.count
        let bDistinct = Set(pairs.map(\.b)).count == pairs.count
        runBatches(pairs.count, flopsEach: m * n * k, parallel: true) { i in
            gemm(m: m, n: n, k: k, a: pa + pairs[i].a * m * k, lda: k, b: pb + pairs[i].b * k * n, ldb: n,
                 c: pc + i * m * n, ldc: n, precision)
        }
        return out.recording("matmul", [a, b]) { output in
            let g = output.gradPointer()
            if a.requiresGrad {
                let ga = a.gradPointer()
                // Broadcast operands accumulate several batches into one matrix: keep those serial.
                runBatches(pairs.count, flopsEach: m * n * k, parallel: aDistinct) { i in
                    gemm(transB: true, m: m, n: k, k: n, a: g + i * m * n, lda: n, b: pb + pairs[i].b * k * n, ldb: n,
                         beta: 1, c: ga + pairs[i].a * m * k, ldc: k, precision)
                }
            }
            if b.requiresGrad {
                let gb = b.gradPointer()
                runBatches(pairs.count, flopsEach: m * n * k, parallel: bDistinct) { i in
                    gemm(transA: true, m: k, n: n, k: m, a: pa + pairs[i].a * m * k, lda: k, b: g + i * m * n, ldb: n,
                         beta: 1, c: gb + pairs[i].b * k * n, ldc: n, precision)
                }
            }
        }
    }

    /// Runs one GEMM per batch. Small matrices (attention heads) go one per thread, since a single
    /// small GEMM would not split across threads; large ones run in turn, each using every thread.
    private static func runBatches(_ count: Int, flopsEach: Int, parallel: Bool, _ body: (Int) -> Void) {
        if parallel && count > 1 && flopsEach < 2_000_000 {
            Threads.parallelFor(count, body)
        } else {
            for i in 0..<count { body(i) }
        }
    }
}

extension Tensor {
    /// Runs `body` with its matrix products (and their backward passes) in `precision`.
    public static func withMatmulPrecision<R>(_ precision: MatmulPrecision, _ body: () throws -> R) rethrows -> R {
        try MatmulPrecision.$current.withValue(precision, operation: body)
    }
}
