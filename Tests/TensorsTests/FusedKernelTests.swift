// Each fused kernel against the same function composed from primitive ops (values and gradients).

import Testing
import Tensors

@Suite("Fused kernels equal their composed versions")
struct FusedKernelTests {
    /// Runs `f` on a copy of `input` and returns the output and the gradient of sum(output * upstream).
    func valueAndGrad(_ input: Tensor, _ upstream: Tensor, _ f: (Tensor) -> Tensor) -> (Tensor, Tensor) {
        let x = Tensor(input.scalars, shape: input.shape, requiresGrad: true)
        let y = f(x)
        (y * upstream).sum().backward()
        return (y.detached(), x.grad!)
    }

    func compare(shape: [Int], scale: Float = 3, seed: UInt64,
                 fused: (Tensor) -> Tensor, composed: (Tensor) -> Tensor) {
        var rng = SeededGenerator(seed: seed)
        let x = Tensor.uniform(shape, low: -scale, high: scale, generator: &rng)
        let probe = fused(x.detached())
        let upstream = Tensor.uniform(probe.shape, low: -1, high: 1, generator: &rng)
        let (yf, gf) = valueAndGrad(x, upstream, fused)
        let (yc, gc) = valueAndGrad(x, upstream, composed)
        expectClose(yf, yc, "value")
        expectClose(gf, gc, atol: 1e-5, rtol: 1e-3, "gradient")
    }

    static func composedSoftmax(_ x: Tensor) -> Tensor {
        let e = (x - x.max(axis: -1, keepingDim: true)).exp()
        return e / e.sum(axis: -1, keepingDim: true)
    }

    @Test func softmax() {
        compare(shape: [4, 3, 37], seed: 1, fused: { $0.softmax() }, composed: Self.composedSoftmax)
    }

    @Test func softmaxLarge() {
        // Large enough that the kernel splits rows over the thread pool.
        compare(shape: [256, 300], seed: 2, fused: { $0.softmax() }, composed: Self.composedSoftmax)
    }

    @Test func causalSoftmax() {
        for (tq, tk) in [(7, 7), (3, 9), (1, 5)] {
            let keep = Tensor.ones([tq, tk]).tril(tk - tq)
            compare(shape: [2, tq, tk], seed: UInt64(tq * 10 + tk), fused: { $0.causalSoftmax() },
                    composed: { Self.composedSoftmax($0.maskedFill(keep.eq(Tensor(scalar: 0)), value: -.infinity)) })
        }
    }

    @Test func logSoftmax() {
        compare(shape: [5, 33], scale: 8, seed: 3, fused: { $0.logSoftmax() },
                composed: { x in
                    let shifted = x - x.max(axis: -1, keepingDim: true)
                    return shifted - shifted.exp().sum(axis: -1, keepingDim: true).log()
                })
    }

    @Test func layerNorm() {
        var rng = SeededGenerator(seed: 4)
        let w = Tensor.normal([48], generator: &rng), b = Tensor.normal([48], generator: &rng)
        compare(shape: [3, 5, 48], seed: 5, fused: { $0.layerNorm(weight: w, bias: b) },
                composed: { x in
                    let mean = x.mean(axis: -1, keepingDim: true)
                    let variance = x.variance(axis: -1, keepingDim: true, unbiased: false)
                    return (x - mean) / (variance + 1e-5).sqrt() * w + b
                })
    }

    @Test func layerNormParameterGradients() {
        var rng = SeededGenerator(seed: 6)
        let x = Tensor.normal([300, 64], generator: &rng)
        let upstream = Tensor.normal([300, 64], generator: &rng)
        let weights = Tensor.normal([64], generator: &rng)
        func grads(_ fused: Bool) -> (Tensor, Tensor) {
            let w = Tensor(weights.scalars, shape: [64], requiresGrad: true)
            let b = Tensor.zeros([64], requiresGrad: true)
            let y: Tensor
            if fused {
                y = x.layerNorm(weight: w, bias: b)
            } else {
                let mean = x.mean(axis: -1, keepingDim: true)
                y = (x - mean) / (x.variance(axis: -1, keepingDim: true, unbiased: false) + 1e-5).sqrt() * w + b
            }
            (y * upstream).sum().backward()
            return (w.grad!, b.grad!)
        }
        let (wf, bf) = grads(true), (wc, bc) = grads(false)
        expectClose(wf, wc, atol: 1e-4, rtol: 1e-3, "weight gradient")
        expectClose(bf, bc, atol: 1e-4, rtol: 1e-3, "bias gradient")
    }

    @Test func rmsNorm() {
        var rng = SeededGenerator(seed: 14)
        let w = Tensor.normal([64], generator: &rng)
        // Enough rows for the thread pool's split (the weight gradient runs split by columns).
        compare(shape: [6, 50, 64], seed: 15, fused: { $0.rmsNorm(weight: w, eps: 1e-6) },
                composed: { x in x / ((x * x).mean(axis: -1, keepingDim: true) + 1e-6).sqrt() * w })
        let x = Tensor.normal([300, 64], generator: &rng), upstream = Tensor.normal([300, 64], generator: &rng)
        func weightGradient(_ fused: Bool) -> Tensor {
            let weight = Tensor(w.scalars, shape: [64], requiresGrad: true)
            let y = fused ? x.rmsNorm(weight: weight) : x / ((x * x).mean(axis: -1, keepingDim: true) + 1e-6).sqrt() * weight
            (y * upstream).sum().backward()
            return weight.grad!
        }
        expectClose(weightGradient(true), weightGradient(false), atol: 1e-4, rtol: 1e-3, "weight gradient")
    }

    @Test func swiGLU() {
        var rng = SeededGenerator(seed: 16)
        let up = Tensor.normal([9, 130], generator: &rng)
        compare(shape: [9, 130], scale: 6, seed: 17, fused: { Tensor.swiGLU(gate: $0, up: up) },
                composed: { g in g * g.sigmoid() * up })
    }

    @Test func gelu() {
        compare(shape: [7, 41], scale: 5, seed: 7, fused: { $0.gelu() },
                composed: { x in 0.5 * x * (1 + ((x + 0.044715 * x.pow(3)) * 0.7978845608028654).tanh()) })
    }

    @Test func crossEntropy() {
        let targets = [3, 0, -100, 9, 9, 1, 5]
        compare(shape: [7, 10], scale: 5, seed: 8, fused: { $0.crossEntropy(targets: targets) },
                composed: { x in
                    let kept = targets.enumerated().filter { $0.element != -100 }
                    let logp = x.logSoftmax(axis: -1).indexSelect(0, kept.map(\.offset))
                    let picked = kept.enumerated().map { row, t in logp.select(0, row).select(0, t.element) }
                    return -Tensor.stack(picked).mean()
                })
    }
}
