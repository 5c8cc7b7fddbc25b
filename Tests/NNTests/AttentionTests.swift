// The attention family: the book's numbers, PyTorch goldens, and the equivalences chapter 3 relies on.

import Foundation
import NN
import Testing
import Tensors

struct AttentionCase: Codable {
    let input, output, upstream, input_grad: Encoded
    let weights: [String: Encoded]
    let weight_grads: [String: Encoded?]
}

struct AttentionGoldens: Codable {
    let causal_attention: AttentionCase
    let multi_head_attention: AttentionCase
    static let load: AttentionGoldens = try! JSONDecoder().decode(
        AttentionGoldens.self, from: Data(contentsOf: Bundle.module.url(forResource: "attention-goldens", withExtension: "json")!))
}

/// Runs `module` on the golden input, checks the output, backpropagates the golden upstream gradient
/// and checks the input gradient; the caller then checks the weight gradients.
func runGolden(_ c: AttentionCase, sourceLocation: SourceLocation = #_sourceLocation, _ module: (Tensor) -> Tensor) {
    let x = c.input.tensor
    x.requiresGrad = true
    let y = module(x)
    expectClose(y, c.output.data, "output", sourceLocation: sourceLocation)
    (y * c.upstream.tensor).sum().backward()
    expectClose(x.grad!, c.input_grad.data, atol: 1e-5, rtol: 1e-3, "input gradient", sourceLocation: sourceLocation)
}

@Suite("Attention")
struct AttentionTests {
    /// "Your journey starts with one step", 3-d embeddings from the book.
    let inputs = Tensor(rows: [[0.43, 0.15, 0.89], [0.55, 0.87, 0.66], [0.57, 0.85, 0.64],
                               [0.22, 0.58, 0.33], [0.77, 0.25, 0.10], [0.05, 0.80, 0.55]])

    @Test func simplifiedSelfAttentionMatchesTheBook() {
        let a = SimplifiedSelfAttention(inputs)
        expectClose(a.scores.select(0, 1), [0.9544, 1.4950, 1.4754, 0.8434, 0.7070, 1.0865], atol: 1e-4, "scores of journey")
        expectClose(a.weights.select(0, 1), [0.1385, 0.2379, 0.2333, 0.1240, 0.1082, 0.1581], atol: 1e-4, "weights of journey")
        expectClose(a.context.select(0, 1), [0.4419, 0.6515, 0.5683], atol: 1e-4, "context of journey")
    }

    @Test func selfAttentionV1AndV2AgreeWithTheSameWeights() {
        var g = SeededGenerator(seed: 1)
        let v2 = SelfAttentionV2(3, 2, generator: &g)
        let v1 = SelfAttentionV1(3, 2, generator: &g)
        assign(v1.wQuery, v2.query.weight)
        assign(v1.wKey, v2.key.weight)
        assign(v1.wValue, v2.value.weight)
        expectClose(v1(inputs), v2(inputs), "V1 vs V2")
        let weights = v2.attentionWeights(inputs)
        expectClose(weights.sum(axis: -1), [Double](repeating: 1, count: 6), "rows sum to one")
    }

    @Test func maskingWithZerosThenRenormalisingEqualsMinusInfinity() {
        var g = SeededGenerator(seed: 2)
        let ca = CausalAttention(3, 2, generator: &g)
        let batch = inputs.unsqueezed(0)
        let plain = SelfAttentionV2(3, 2, generator: &g)
        assign(plain.query.weight, ca.query.weight)
        assign(plain.key.weight, ca.key.weight)
        let full = plain.attentionWeights(inputs)
        let masked = full.tril()
        let renormalised = masked / masked.sum(axis: -1, keepingDim: true)
        expectClose(ca.attentionWeights(batch).squeezed(0), renormalised, "renormalised zeros vs -inf mask")
    }

    @Test func causalAttentionMatchesPyTorch() {
        let c = AttentionGoldens.load.causal_attention
        var g = SeededGenerator(seed: 3)
        let ca = CausalAttention(6, 4, qkvBias: true, generator: &g)
        for (name, layer) in [("query", ca.query), ("key", ca.key), ("value", ca.value)] {
            assign(layer.weight, c.weights["\(name).weight"]!.tensor)
            assign(layer.bias!, c.weights["\(name).bias"]!.tensor)
        }
        runGolden(c) { ca($0) }
        expectClose(ca.query.weight.grad!, c.weight_grads["query.weight"]!!.data, atol: 1e-5, rtol: 1e-3, "query weight gradient")
        expectClose(ca.value.bias!.grad!, c.weight_grads["value.bias"]!!.data, atol: 1e-5, rtol: 1e-3, "value bias gradient")
    }

    @Test(arguments: [true, false])
    func multiHeadAttentionMatchesPyTorch(fused: Bool) {
        let c = AttentionGoldens.load.multi_head_attention
        var g = SeededGenerator(seed: 4)
        let mha = MultiHeadAttention(6, 8, heads: 2, qkvBias: true, generator: &g)
        mha.useFusedKernel = fused
        let params = Dictionary(uniqueKeysWithValues: mha.namedParameters)
        for (name, value) in c.weights { assign(params[name]!, value.tensor) }
        runGolden(c) { mha($0) }
        for (name, expected) in c.weight_grads { expectClose(params[name]!.grad!, expected!.data, atol: 1e-5, rtol: 1e-3, "\(name) gradient") }
    }

    @Test func wrapperEqualsFusedClassWithCopiedWeights() {
        var g = SeededGenerator(seed: 5)
        let wrapper = MultiHeadAttentionWrapper(3, 2, heads: 2, generator: &g)
        let mha = MultiHeadAttention(3, 4, heads: 2, generator: &g)
        // Columns of c_attn: [q_head0 q_head1 | k_head0 k_head1 | v_head0 v_head1]; identity output projection.
        var columns: [Tensor] = []
        for part in [\CausalAttention.query, \CausalAttention.key, \CausalAttention.value] {
            for head in wrapper.heads { columns.append(head[keyPath: part].weight) }
        }
        assign(mha.qkv.weight, Tensor.concat(columns, axis: 1))
        assign(mha.outProjection.weight, Tensor(rows: (0..<4).map { i in (0..<4).map { $0 == i ? 1 : 0 } }))
        assign(mha.outProjection.bias!, Tensor.zeros([4]))
        let x = Tensor.stack([inputs, inputs.flip()])
        expectClose(mha(x), wrapper(x), "wrapper vs MultiHeadAttention")
    }

    @Test func dropoutIsOffInEvaluation() {
        var g = SeededGenerator(seed: 6)
        let mha = MultiHeadAttention(3, 4, heads: 2, dropout: 0.5, generator: &g)
        let x = inputs.unsqueezed(0)
        mha.eval()
        let a = mha(x), b = mha(x)
        #expect(a.scalars == b.scalars)
        mha.train()
        #expect(mha(x).scalars != a.scalars, "dropout changes the output in training")
    }

    @Test(arguments: [(7, 7, true, 0), (3, 9, true, 0), (130, 130, true, 0), (5, 6, false, 0), (1, 70, true, 0),
                      (130, 130, true, 0.3), (3, 9, true, 0.5), (5, 70, false, 0.2)] as [(Int, Int, Bool, Float)])
    func fusedKernelEqualsComposedAttention(tq: Int, tk: Int, causal: Bool, dropout: Float) {
        var g = SeededGenerator(seed: UInt64(tq * 1000 + tk))
        let q = Tensor.normal([2, 3, tq, 16], generator: &g), k = Tensor.normal([2, 3, tk, 16], generator: &g)
        let v = Tensor.normal([2, 3, tk, 16], generator: &g), up = Tensor.normal([2, 3, tq, 16], generator: &g)
        let key: UInt64 = 0x5EED
        func run(_ fused: Bool) -> [Tensor] {
            let (qq, kk, vv) = (q.detached(), k.detached(), v.detached())
            for t in [qq, kk, vv] { t.requiresGrad = true }
            let y: Tensor
            if fused {
                y = Tensor.scaledDotProductAttention(qq, kk, vv, causal: causal, dropout: dropout, dropoutKey: key)
            } else {
                let scores = qq.matmul(kk.transposed()) / 4
                let weights = causal ? scores.causalSoftmax() : scores.softmax()
                y = (dropout > 0 ? weights.dropout(dropout, key: key) : weights).matmul(vv)
            }
            (y * up).sum().backward()
            return [y.detached(), qq.grad!, kk.grad!, vv.grad!]
        }
        for (name, (a, b)) in zip(["output", "dq", "dk", "dv"], zip(run(true), run(false))) {
            expectClose(a, b, atol: 1e-4, rtol: 1e-3, name)
        }
    }

    // Decoding (one query row) has its own path in the kernel; head sizes below, at and past its 64-column
    // block, with 1, 3 (fewer than its four-key groups) and 70 keys.
    @Test(arguments: [(8, 1), (16, 3), (64, 70), (80, 5), (136, 70)] as [(Int, Int)])
    func oneQueryRowEqualsComposedAttention(d: Int, tk: Int) {
        var g = SeededGenerator(seed: UInt64(d * 100 + tk))
        let q = Tensor.normal([2, 3, 1, d], generator: &g), k = Tensor.normal([2, 3, tk, d], generator: &g)
        let v = Tensor.normal([2, 3, tk, d], generator: &g)
        for causal in [true, false] {
            let fused = Tensor.scaledDotProductAttention(q, k, v, causal: causal, dropout: 0, dropoutKey: 0)
            let composed = (q.matmul(k.transposed()) / Float(d).squareRoot()).softmax().matmul(v)
            expectClose(fused, composed, atol: 1e-5, rtol: 1e-4, "d=\(d) keys=\(tk) causal=\(causal)")
        }
    }

    // BERT's batches: no causal mask, right padding per batch row; the fused kernel against the composed ops with a
    // -10,000 mask bias, outputs and gradients, with and without dropout, across the 64-row blocks (T = 70). With
    // fewer queries than keys (tq 9) it is a Transformer decoder's cross-attention to a padded source.
    @Test(arguments: [(0, 70), (0.2, 70), (0, 9), (0.2, 9)] as [(Float, Int)])
    func paddedAttentionEqualsComposedMaskedAttention(dropout: Float, tq: Int) {
        var g = SeededGenerator(seed: 23)
        let (b, h, t, d) = (3, 2, 70, 8), lengths = [70, 33, 1]
        let q = Tensor.normal([b, h, tq, d], generator: &g), k = Tensor.normal([b, h, t, d], generator: &g)
        let v = Tensor.normal([b, h, t, d], generator: &g), up = Tensor.normal([b, h, tq, d], generator: &g)
        let bias = Tensor((0..<(b * t)).map { $0 % t < lengths[$0 / t] ? 0 : Float(-10_000) }, shape: [b, 1, 1, t])
        func run(_ fused: Bool) -> [Tensor] {
            let (qq, kk, vv) = (q.detached(), k.detached(), v.detached())
            for x in [qq, kk, vv] { x.requiresGrad = true }
            let y: Tensor
            if fused {
                y = Tensor.paddedAttention(qq, kk, vv, keyLengths: lengths, dropout: dropout, dropoutKey: 7)
            } else {
                let weights = (qq.matmul(kk.transposed()) / Float(d).squareRoot() + bias).softmax()
                y = (dropout > 0 ? weights.dropout(dropout, key: 7) : weights).matmul(vv)
            }
            (y * up).sum().backward()
            return [y.detached(), qq.grad!, kk.grad!, vv.grad!]
        }
        for (name, (a, c)) in zip(["output", "dq", "dk", "dv"], zip(run(true), run(false))) {
            expectClose(a, c, atol: 1e-4, rtol: 1e-3, "\(name), dropout \(dropout), \(tq) queries")
        }
    }

    @Test func packedProjectionEqualsSplitHeads() {
        var g = SeededGenerator(seed: 11)
        let (b, t, heads, d) = (2, 70, 3, 8), c = 3 * 8
        let qkv = Tensor.normal([b, t, 3 * c], generator: &g), up = Tensor.normal([b, t, c], generator: &g)
        func run(_ packed: Bool) -> [Tensor] {
            let x = qkv.detached()
            x.requiresGrad = true
            let y: Tensor
            if packed {
                y = Tensor.causalSelfAttention(packed: x, heads: heads, dropout: 0.25, dropoutKey: 42)
            } else {
                let parts = x.split([c, c, c], axis: -1).map { $0.reshaped([b, t, heads, d]).transposed(1, 2) }
                y = Tensor.scaledDotProductAttention(parts[0], parts[1], parts[2], causal: true, dropout: 0.25, dropoutKey: 42)
                    .transposed(1, 2).reshaped([b, t, c])
            }
            (y * up).sum().backward()
            return [y.detached(), x.grad!]
        }
        for (name, (a, b)) in zip(["output", "dqkv"], zip(run(true), run(false))) {
            expectClose(a, b, atol: 1e-5, rtol: 1e-4, name)
        }
    }

    @Test func trainingWithDropoutFusedEqualsComposed() {
        // The fused path draws its mask key from the layer's dropout, so it drops what the composed
        // softmax-then-dropout path drops: same outputs and gradients in training.
        func run(_ fused: Bool) -> [Tensor] {
            var g = SeededGenerator(seed: 8)
            let mha = MultiHeadAttention(6, 8, heads: 2, dropout: 0.3, seed: 5, generator: &g)
            mha.useFusedKernel = fused
            mha.train()
            let x = Tensor.normal([2, 9, 6], generator: &g)
            let y1 = mha(x), y2 = mha(x) // two calls: two different masks
            (y1 * y1 + y2).sum().backward()
            return [y1.detached(), y2.detached(), mha.qkv.weight.grad!, mha.outProjection.weight.grad!]
        }
        let fused = run(true), composed = run(false)
        #expect(fused[0].scalars != fused[1].scalars, "each call draws a new mask")
        for (name, (a, b)) in zip(["first call", "second call", "c_attn grad", "c_proj grad"], zip(fused, composed)) {
            expectClose(a, b, atol: 1e-5, rtol: 1e-4, name)
        }
    }
}

extension Tensor {
    /// Rows in reverse order (test helper).
    func flip() -> Tensor { indexSelect(0, Array((0..<shape[0]).reversed())) }
}
