// Recurrent networks, the story before self-attention (the notes' chapter 3): a hidden state carried from token to
// token, so everything the network knows about the text so far must fit in that one vector. Three cells, side by
// side, with PyTorch's equations, gate order and parameter layout (torch.nn.RNN, GRU, LSTM; batch first):
//
//   RNN    h' = tanh(W_ih x + b_ih + W_hh h + b_hh)                  (or relu)
//   GRU    r = σ(W_ir x + b_ir + W_hr h + b_hr)                      reset gate
//          z = σ(W_iz x + b_iz + W_hz h + b_hz)                      update gate
//          n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))             candidate
//          h' = (1 − z) ⊙ n + z ⊙ h
//   LSTM   i, f, g, o = σ, σ, tanh, σ of (W_i· x + b_i· + W_h· h + b_h·)
//          c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')
//
// Layer k's weights are weight_ih_l{k} (G·H, in) and weight_hh_l{k} (G·H, H), G = 1, 3, 4 gates stacked in that
// order, with biases bias_ih_l{k}, bias_hh_l{k}; layer k + 1 reads layer k's outputs. The input projection of every
// step is one matrix product per layer (x (B, T, in) · W_ihᵀ); only h · W_hhᵀ runs step by step, as it must. The GRU's
// gates are one fused op (Tensors/Ops/GRUCell.swift); the other cells are composed of the engine's ops.
// Rows of different lengths behave as PyTorch's packed sequences: past its length a row's state stays as it was
// (so the final state is the one after its last token) and its outputs are zero.

import Foundation
import Tensors

public final class RNN: Module {
    public enum Cell: String, Sendable, CaseIterable {
        case tanh, relu, gru, lstm

        /// Gates stacked in each weight matrix.
        public var gates: Int { switch self { case .tanh, .relu: 1; case .gru: 3; case .lstm: 4 } }
    }

    public let cell: Cell
    public let inputSize: Int, hiddenSize: Int, layers: Int
    /// Per layer: weight_ih (G·H, in), weight_hh (G·H, H), bias_ih (G·H), bias_hh (G·H).
    public let weightIH: [Tensor], weightHH: [Tensor], biasIH: [Tensor], biasHH: [Tensor]

    /// Weights uniform in ±1/sqrt(H), PyTorch's initialisation.
    public init(_ cell: Cell, inputSize: Int, hiddenSize: Int, layers: Int = 1, generator: inout SeededGenerator) {
        precondition(inputSize >= 1 && hiddenSize >= 1 && layers >= 1, "an RNN needs sizes and layers of at least 1")
        (self.cell, self.inputSize, self.hiddenSize, self.layers) = (cell, inputSize, hiddenSize, layers)
        let g = cell.gates * hiddenSize, bound = 1 / Float(hiddenSize).squareRoot()
        func uniform(_ shape: [Int]) -> Tensor { Tensor.uniform(shape, low: -bound, high: bound, generator: &generator, requiresGrad: true) }
        var (ih, hh, bih, bhh) = ([Tensor](), [Tensor](), [Tensor](), [Tensor]())
        for k in 0..<layers {
            ih.append(uniform([g, k == 0 ? inputSize : hiddenSize]))
            hh.append(uniform([g, hiddenSize]))
            bih.append(uniform([g]))
            bhh.append(uniform([g]))
        }
        (weightIH, weightHH, biasIH, biasHH) = (ih, hh, bih, bhh)
    }

    override public var ownParameters: [(String, Tensor)] {
        (0..<layers).flatMap { k in
            [("weight_ih_l\(k)", weightIH[k]), ("weight_hh_l\(k)", weightHH[k]), ("bias_ih_l\(k)", biasIH[k]), ("bias_hh_l\(k)", biasHH[k])]
        }
    }

    /// The state between steps: h (and an LSTM's cell c), each (layers, B, H).
    public struct State {
        public let h: Tensor
        public let c: Tensor?
        public init(h: Tensor, c: Tensor? = nil) { (self.h, self.c) = (h, c) }
    }

    /// x (B, T, in) → outputs (B, T, H) of the last layer, and the final state. `lengths` (each 1...T): how many
    /// steps of each row are tokens (nil: all); `initial`: the starting state (nil: zeros).
    public func callAsFunction(_ x: Tensor, lengths: [Int]? = nil, initial: State? = nil) -> (output: Tensor, state: State) {
        precondition(x.rank == 3 && x.shape[2] == inputSize, "an RNN reads (B, T, \(inputSize)), got \(x.shape)")
        let (b, t, h) = (x.shape[0], x.shape[1], hiddenSize)
        precondition(lengths.map { $0.count == b && $0.allSatisfy { (1...t).contains($0) } } ?? true, "lengths \(lengths!) do not fit \(b) rows of \(t) steps")
        // keep[s] (B, 1): 1 where step s is a token of the row, 0 where it is padding.
        let keep: [Tensor]? = lengths.map { lengths in (0..<t).map { s in Tensor(lengths.map { s < $0 ? 1 : 0 }, shape: [b, 1]) } }
        var input = x, finalH: [Tensor] = [], finalC: [Tensor] = []
        for k in 0..<layers {
            var state = initial.map { $0.h.select(0, k) } ?? Tensor.zeros([b, h])
            var cellState = cell == .lstm ? (initial?.c.map { $0.select(0, k) } ?? Tensor.zeros([b, h])) : nil
            let projected = input.matmulTransposed(weightIH[k]) + biasIH[k] // (B, T, G·H): every step's input at once
            var outputs: [Tensor] = []
            for s in 0..<t {
                let next: Tensor, nextCell: Tensor?
                if cell == .gru { // the fused cell reads step s of the projection in place and carries padded rows itself
                    next = Tensor.gruCell(inputGates: projected, step: s, hiddenGates: state.matmulTransposed(weightHH[k]), hiddenBias: biasHH[k],
                                          state: state, keep: lengths.map { $0.map { s < $0 } })
                    (state, nextCell) = (next, nil)
                    outputs.append(keep.map { next * $0[s] } ?? next)
                    continue
                }
                (next, nextCell) = step(projected.select(1, s), state, cellState, layer: k)
                if let keep {
                    let m = keep[s], carry = 1 - m
                    state = m * next + carry * state
                    cellState = nextCell.map { m * $0 + carry * cellState! }
                    outputs.append(m * next)
                } else {
                    (state, cellState) = (next, nextCell)
                    outputs.append(next)
                }
            }
            input = Tensor.stack(outputs, axis: 1)
            finalH.append(state)
            if let cellState { finalC.append(cellState) }
        }
        return (input, State(h: Tensor.stack(finalH), c: finalC.isEmpty ? nil : Tensor.stack(finalC)))
    }

    /// One step through every layer, for a decoder whose next input depends on its last output: x (B, in) and the
    /// state (layers, B, H) → the new state (its top layer's h is the step's output). No padding: every row steps.
    public func step(_ x: Tensor, state: State) -> State {
        var input = x, hs: [Tensor] = [], cs: [Tensor] = []
        for k in 0..<layers {
            let (h, c) = step(input.matmulTransposed(weightIH[k]) + biasIH[k], state.h.select(0, k), state.c?.select(0, k), layer: k)
            hs.append(h)
            if let c { cs.append(c) }
            input = h
        }
        return State(h: Tensor.stack(hs), c: cs.isEmpty ? nil : Tensor.stack(cs))
    }

    /// One step of layer `k`'s cell: the input already projected (B, G·H), the state h (B, H) and c → h', c'.
    func step(_ projected: Tensor, _ h: Tensor, _ c: Tensor?, layer k: Int) -> (Tensor, Tensor?) {
        let recurrent = { h.matmulTransposed(self.weightHH[k]) + self.biasHH[k] }
        let n = hiddenSize
        switch cell {
        case .tanh: return ((projected + recurrent()).tanh(), nil)
        case .relu: return ((projected + recurrent()).relu(), nil)
        case .gru:
            return (Tensor.gruCell(inputGates: projected, hiddenGates: h.matmulTransposed(weightHH[k]), hiddenBias: biasHH[k], state: h), nil)
        case .lstm:
            let gates = (projected + recurrent()).split([n, n, n, n], axis: 1)
            let (input, forget, cellInput, output) = (gates[0].sigmoid(), gates[1].sigmoid(), gates[2].tanh(), gates[3].sigmoid())
            let c2 = forget * c! + input * cellInput
            return (output * c2.tanh(), c2)
        }
    }
}
