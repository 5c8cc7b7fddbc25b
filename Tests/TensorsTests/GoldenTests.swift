// Every op against PyTorch: forward values and gradients from the goldens, and the same gradients
// again by central finite differences, so an op and its backward are checked independently.

import Testing
import Tensors

/// Runs the golden case's op on `x` the way the generator ran it in PyTorch.
func runOp(_ c: GoldenCase, _ x: [Tensor]) -> Tensor {
    func int(_ key: String) -> Int { c.ints[key]![0] }
    switch c.op {
    case "add": return x[0] + x[1]
    case "sub": return x[0] - x[1]
    case "mul": return x[0] * x[1]
    case "div": return x[0] / x[1]
    case "expand": return x[0].expanded(to: c.output.shape)
    case "exp": return x[0].exp()
    case "log": return x[0].log()
    case "sqrt": return x[0].sqrt()
    case "tanh": return x[0].tanh()
    case "pow": return x[0].pow(Float(c.params["exponent"]!))
    case "sigmoid": return x[0].sigmoid()
    case "relu": return x[0].relu()
    case "where": return Tensor.where(x[0], x[1], x[2])
    case "maskedFill": return x[0].maskedFill(x[1], value: Float(c.params["value"]!))
    case "tril": return x[0].tril(Int(c.params["k"]!))
    case "triu": return x[0].triu(Int(c.params["k"]!))
    case "reshape": return x[0].reshaped(c.ints["shape"]!)
    case "permute": return x[0].permuted(c.ints["order"]!)
    case "transpose": return x[0].transposed(c.ints["axes"]![0], c.ints["axes"]![1])
    case "narrow": return x[0].narrow(int("axis"), start: int("start"), length: int("length"))
    case "select": return x[0].select(int("axis"), int("index"))
    case "indexSelect": return x[0].indexSelect(int("axis"), c.ints["indices"]!)
    case "concat": return Tensor.concat(x, axis: int("axis"))
    case "stack": return Tensor.stack(x, axis: int("axis"))
    case "split": return Tensor.concat(x[0].split(c.ints["sizes"]!, axis: int("axis")).reversed(), axis: int("axis"))
    case "sum": return x[0].sum(axis: int("axis"), keepingDim: c.params["keep"] == 1)
    case "sumAll": return x[0].sum()
    case "mean": return x[0].mean(axis: int("axis"), keepingDim: c.params["keep"] == 1)
    case "meanAll": return x[0].mean()
    case "max": return x[0].max(axis: int("axis"), keepingDim: c.params["keep"] == 1)
    case "var": return x[0].variance(axis: int("axis"), unbiased: c.params["unbiased"] == 1)
    case "argmax": return Tensor(x[0].argmax(axis: int("axis")).map(Float.init))
    case "matmul": return x[0].matmul(x[1])
    case "matmulTransposed": return x[0].matmulTransposed(x[1])
    case "linear": return x[0].linear(x[1], bias: x[2])
    case "softmax": return x[0].softmax(axis: int("axis"))
    case "logSoftmax": return x[0].logSoftmax(axis: int("axis"))
    case "causalSoftmax": return x[0].causalSoftmax()
    case "layerNorm": return x[0].layerNorm(weight: x[1], bias: x[2], eps: Float(c.params["eps"]!))
    case "gelu": return x[0].gelu()
    case "rmsNorm": return x[0].rmsNorm(weight: x[1], eps: Float(c.params["eps"]!))
    case "swiGLU": return Tensor.swiGLU(gate: x[0], up: x[1])
    case "silu": return x[0].silu()
    case "embedding": return x[0].embedding(c.ints["ids"]!, shape: c.ints["shape"]!)
    case "crossEntropy": return x[0].crossEntropy(targets: c.ints["targets"]!)
    case "eq": return x[0].eq(x[1])
    case "ne": return x[0].ne(x[1])
    case "lt": return x[0].lt(x[1])
    case "le": return x[0].le(x[1])
    case "gt": return x[0].gt(x[1])
    case "ge": return x[0].ge(x[1])
    default: fatalError("golden op \(c.op) has no runner")
    }
}

/// Inputs that are data, not differentiable arguments (a condition or mask).
func isConstantInput(_ c: GoldenCase, _ index: Int) -> Bool {
    (c.op == "where" && index == 0) || (c.op == "maskedFill" && index == 1)
}

@Suite("Ops against PyTorch")
struct GoldenTests {
    @Test("forward and gradient", arguments: Goldens.cases)
    func forwardAndGradient(_ c: GoldenCase) {
        let inputs = c.inputs.enumerated().map { i, e in
            let t = e.tensor
            t.requiresGrad = !isConstantInput(c, i)
            return t
        }
        let out = runOp(c, inputs)
        #expect(out.shape == c.output.shape, "output shape \(out.shape), expected \(c.output.shape)")
        expectClose(out.scalars, c.output.data, "output")
        guard let upstream = c.upstream, let grads = c.grads else { return }
        (out * upstream.tensor).sum().backward()
        for (i, (input, expected)) in zip(inputs, grads).enumerated() where input.requiresGrad {
            #expect(input.grad != nil, "input \(i) got no gradient")
            expectClose(input.grad?.scalars ?? [], expected.data, atol: 1e-4, rtol: 1e-3, "gradient of input \(i)")
        }
    }

    /// Central differences in Float32: step 1e-2 keeps rounding noise (~1e-7 / 1e-2) and truncation
    /// error (~1e-4) both well under the tolerance.
    @Test("gradient by finite differences", arguments: Goldens.cases.filter { $0.upstream != nil })
    func finiteDifferences(_ c: GoldenCase) {
        let upstream = c.upstream!.tensor
        let inputs = c.inputs.map { $0.tensor }
        func loss() -> Double {
            Autograd.withNoGrad { Double((runOp(c, inputs) * upstream).sum().item()) }
        }
        for (i, input) in inputs.enumerated() where !isConstantInput(c, i) {
            input.requiresGrad = true
            defer { input.requiresGrad = false }
            let analytic = c.grads![i].data
            let h: Float = 1e-2
            var numeric: [Double] = []
            for j in 0..<input.count {
                let original = input.scalars[j]
                input.withUnsafeMutableBufferPointer { $0[j] = original + h }
                let up = loss()
                input.withUnsafeMutableBufferPointer { $0[j] = original - h }
                let down = loss()
                input.withUnsafeMutableBufferPointer { $0[j] = original }
                numeric.append((up - down) / Double(2 * h))
            }
            // Kinks (max, relu) make differences unreliable right at a tie; the inputs avoid ties.
            expectClose(numeric.map(Float.init), analytic, atol: 2e-3, rtol: 2e-2, "finite-difference gradient of input \(i)")
        }
    }
}
