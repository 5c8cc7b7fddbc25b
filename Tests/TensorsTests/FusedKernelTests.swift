// Each fused kernel against the same function composed from primitive ops (values and gradients).

import Foundation
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

@Suite("Vectorised activations and the fused GRU cell")
struct ActivationKernelTests {
    /// tanh and sigmoid against libm in double precision, over tiny, ordinary and saturating inputs of both signs
    /// (enough of them that the kernel runs on the thread pool, and on the ISA LLM_GEMM_ISA selects).
    @Test func tanhAndSigmoidAreWithinAFewUlps() {
        var inputs: [Float] = [0, -0, 1e-30, -1e-8, 1e-4, 0.2499, 0.25, 0.2501, -0.25, 1, -3, 9, 20, -44, 88, -100]
        var g = SeededGenerator(seed: 4)
        inputs += (0..<20_000).map { _ in Float.random(in: -12...12, using: &g) * (Bool.random(using: &g) ? 1 : 0.01) }
        let x = Tensor(inputs, shape: [inputs.count])
        for (name, y, reference) in [("tanh", x.tanh().scalars, { Foundation.tanh($0) }),
                                     ("sigmoid", x.sigmoid().scalars, { 1 / (1 + Foundation.exp(-$0)) })] as [(String, [Float], (Double) -> Double)] {
            for (u, v) in zip(inputs, y) {
                let exact = reference(Double(u))
                #expect(abs(Double(v) - exact) <= 1e-6 * abs(exact) + 1e-37, "\(name)(\(u)) = \(v), not \(exact)")
            }
        }
    }

    /// The fused cell against PyTorch's GRU equations composed of primitive ops, padded rows included: values and
    /// the gradients of all four inputs.
    @Test func gruCellEqualsTheComposedEquations() {
        var g = SeededGenerator(seed: 8)
        let (b, t, n, step) = (5, 3, 7, 1), keep = [true, false, true, true, false]
        let gx = Tensor.normal([b, t, 3 * n], generator: &g), gh = Tensor.normal([b, 3 * n], generator: &g)
        let bias = Tensor.normal([3 * n], generator: &g), h = Tensor.normal([b, n], generator: &g), up = Tensor.normal([b, n], generator: &g)
        let mask = Tensor(keep.map { $0 ? 1 : 0 }, shape: [b, 1])
        func run(_ fused: Bool) -> [Tensor] {
            let inputs = [gx, gh, bias, h].map { t -> Tensor in let c = t.detached(); c.requiresGrad = true; return c }
            let (x, hh, bb, state) = (inputs[0], inputs[1], inputs[2], inputs[3])
            let y: Tensor
            if fused {
                y = Tensor.gruCell(inputGates: x, step: step, hiddenGates: hh, hiddenBias: bb, state: state, keep: keep)
            } else {
                let xs = x.select(1, step).split([n, n, n], axis: 1), hs = (hh + bb).split([n, n, n], axis: 1)
                let r = (xs[0] + hs[0]).sigmoid(), z = (xs[1] + hs[1]).sigmoid(), c = (xs[2] + r * hs[2]).tanh()
                y = mask * ((1 - z) * c + z * state) + (1 - mask) * state
            }
            (y * up).sum().backward()
            return [y.detached()] + inputs.map { $0.grad! }
        }
        for (name, (a, c)) in zip(["h'", "∂input gates", "∂hidden gates", "∂bias", "∂h"], zip(run(true), run(false))) {
            expectClose(a, c, atol: 1e-5, rtol: 1e-4, name)
        }
    }
}

extension ActivationKernelTests {
    /// Bahdanau's scores vᵀ tanh(K + q) fused against the composed broadcast sum, tanh and product, with gradients.
    @Test func additiveAttentionScoresEqualTheComposedOps() {
        var g = SeededGenerator(seed: 12)
        let (b, s, a) = (3, 5, 9)
        let keys = Tensor.normal([b, s, a], generator: &g), query = Tensor.normal([b, a], generator: &g)
        let v = Tensor.normal([a], generator: &g), up = Tensor.normal([b, s], generator: &g)
        func run(_ fused: Bool) -> [Tensor] {
            let inputs = [keys, query, v].map { t -> Tensor in let c = t.detached(); c.requiresGrad = true; return c }
            let y = fused ? Tensor.additiveAttentionScores(keys: inputs[0], query: inputs[1], v: inputs[2])
                          : (inputs[0] + inputs[1].unsqueezed(1)).tanh().matmul(inputs[2].reshaped([a, 1])).reshaped([b, s])
            (y * up).sum().backward()
            return [y.detached()] + inputs.map { $0.grad! }
        }
        for (name, (x, y)) in zip(["scores", "∂keys", "∂query", "∂v"], zip(run(true), run(false))) {
            expectClose(x, y, atol: 1e-5, rtol: 1e-4, name)
        }
    }
}

extension ActivationKernelTests {
    /// BERT's exact GELU on its vectorised kernel against x Φ(x) with libm's erf in double precision, and its gradient
    /// against the closed form.
    @Test func exactGELUIsWithinItsErfBound() {
        var g = SeededGenerator(seed: 5)
        let inputs = [0, 1e-6, -1e-3, 0.5, -0.5, 3, -3, 6, -6, 12, -12] + (0..<5_000).map { _ in Float.random(in: -8...8, using: &g) }
        let x = Tensor(inputs, shape: [inputs.count], requiresGrad: true)
        let y = x.exactGELU()
        y.sum().backward()
        for (i, (u, v)) in zip(inputs, y.scalars).enumerated() {
            let d = Double(u), exact = 0.5 * d * (1 + Foundation.erf(d / 2.squareRoot()))
            let slope = 0.5 * (1 + Foundation.erf(d / 2.squareRoot())) + d * Foundation.exp(-0.5 * d * d) / (2 * Double.pi).squareRoot()
            #expect(abs(Double(v) - exact) <= 1e-6 * max(1, abs(d)), "gelu(\(u)) = \(v), not \(exact)")
            #expect(abs(Double(x.grad!.scalars[i]) - slope) <= 1e-6 * max(1, abs(d)), "gelu'(\(u))")
        }
    }
}
