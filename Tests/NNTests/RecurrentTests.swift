// The recurrent networks against PyTorch (scripts/make_recurrent_goldens.py: nn.RNN tanh/relu, nn.GRU, nn.LSTM, two
// layers, batch first, a padded batch packed by length and the same unpacked): outputs, final states and the
// gradients of every weight, the input and the initial state; and the gradients against finite differences.

import Foundation
import NN
import Tensors
import Testing

struct RecurrentGoldens: Decodable {
    struct Case: Decodable {
        let kind: String
        let lengths: [Int]?
        let input, h0, output, h_n, w_out, w_h, grad_input, grad_h0: Encoded
        let c0, c_n, w_c, grad_c0: Encoded?
        let loss: Double
        let weights, grads: [String: Encoded]
    }
    let input_size, hidden_size, layers: Int
    let cases: [Case]
}

@Suite("Recurrent networks")
struct RecurrentTests {
    static let goldens = try! JSONDecoder().decode(
        RecurrentGoldens.self, from: Data(contentsOf: Bundle.module.url(forResource: "recurrent-goldens", withExtension: "json")!))

    static func cell(_ kind: String) -> RNN.Cell { ["rnn_tanh": .tanh, "rnn_relu": .relu, "gru": .gru, "lstm": .lstm][kind]! }

    @Test("outputs, final states and gradients equal PyTorch's", arguments: 0..<7)
    func equalsPyTorch(_ index: Int) throws {
        let g = Self.goldens, c = g.cases[index]
        var generator = SeededGenerator(seed: 1)
        let rnn = RNN(Self.cell(c.kind), inputSize: g.input_size, hiddenSize: g.hidden_size, layers: g.layers, generator: &generator)
        for (name, p) in rnn.namedParameters { assign(p, c.weights[name]!.tensor) }
        let x = Tensor(c.input.tensor.scalars, shape: c.input.shape, requiresGrad: true)
        let h0 = Tensor(c.h0.tensor.scalars, shape: c.h0.shape, requiresGrad: true)
        let c0 = c.c0.map { Tensor($0.tensor.scalars, shape: $0.shape, requiresGrad: true) }
        let (output, state) = rnn(x, lengths: c.lengths, initial: RNN.State(h: h0, c: c0))
        let what = "\(c.kind)\(c.lengths == nil ? "" : " packed")"
        expectClose(output, c.output.data, "\(what) output")
        expectClose(state.h, c.h_n.data, "\(what) h_n")
        if let cn = c.c_n { expectClose(state.c!, cn.data, "\(what) c_n") }
        var loss = (output * c.w_out.tensor).sum() + (state.h * c.w_h.tensor).sum()
        if let w = c.w_c { loss = loss + (state.c! * w.tensor).sum() }
        #expect(abs(Double(loss.item()) - c.loss) < 1e-4 * max(1, abs(c.loss)), "\(what) loss")
        loss.backward()
        for (name, p) in rnn.namedParameters { expectClose(p.grad!, c.grads[name]!.data, atol: 1e-4, "\(what) ∂\(name)") }
        expectClose(x.grad!, c.grad_input.data, atol: 1e-4, "\(what) ∂input")
        expectClose(h0.grad!, c.grad_h0.data, atol: 1e-4, "\(what) ∂h0")
        if let c0, let expected = c.grad_c0 { expectClose(c0.grad!, expected.data, atol: 1e-4, "\(what) ∂c0") }
    }

    // The smooth cells; relu's kink at 0 puts finite differences off wherever a step crosses it (its gradients are
    // checked against PyTorch's above).
    @Test("gradients equal central finite differences", arguments: [RNN.Cell.tanh, .gru, .lstm])
    func finiteDifferences(_ cell: RNN.Cell) throws {
        var generator = SeededGenerator(seed: 9)
        let rnn = RNN(cell, inputSize: 3, hiddenSize: 3, layers: 2, generator: &generator)
        let x = Tensor.normal([2, 4, 3], generator: &generator)
        let weights = Tensor.normal([2, 4, 3], generator: &generator)
        func loss() -> Tensor {
            let (out, state) = rnn(x, lengths: [4, 2])
            return (out * weights).sum() + (state.c ?? state.h).sum()
        }
        loss().backward()
        for (name, p) in rnn.namedParameters {
            let analytic = p.grad!.scalars
            for i in stride(from: 0, to: p.count, by: max(1, p.count / 5)) {
                let original = p.scalars[i], eps: Float = 1e-2
                func at(_ v: Float) -> Double {
                    p.withUnsafeMutableBufferPointer { $0[i] = v }
                    return Double(Autograd.withNoGrad { loss() }.item())
                }
                let numeric = (at(original + eps) - at(original - eps)) / Double(2 * eps)
                p.withUnsafeMutableBufferPointer { $0[i] = original }
                #expect(abs(numeric - Double(analytic[i])) < 2e-3 + 1e-2 * abs(numeric), "\(cell) ∂\(name)[\(i)]: \(analytic[i]) vs \(numeric)")
            }
        }
    }

    @Test("padding changes nothing: a row's outputs and final state are those of the row alone")
    func paddingIsInvisible() throws {
        var generator = SeededGenerator(seed: 4)
        let rnn = RNN(.lstm, inputSize: 2, hiddenSize: 3, layers: 2, generator: &generator)
        let x = Tensor.normal([2, 5, 2], generator: &generator)
        let (batched, state) = Autograd.withNoGrad { rnn(x, lengths: [5, 3]) }
        let alone = Autograd.withNoGrad { rnn(x.narrow(0, start: 1, length: 1).narrow(1, start: 0, length: 3)) }
        expectClose(batched.narrow(0, start: 1, length: 1).narrow(1, start: 0, length: 3), alone.output, "outputs of the short row")
        #expect(batched.narrow(0, start: 1, length: 1).narrow(1, start: 3, length: 2).scalars.allSatisfy { $0 == 0 }, "zero past its length")
        expectClose(state.h.narrow(1, start: 1, length: 1), alone.state.h, "final h of the short row")
        expectClose(state.c!.narrow(1, start: 1, length: 1), alone.state.c!, "final c of the short row")
    }
}
