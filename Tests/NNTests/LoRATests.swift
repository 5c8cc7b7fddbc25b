// LoRA layers: B = 0 leaves the base layer's output; merging gives the same function as the
// adapter; gradients (checked by finite differences) reach A and B but not the frozen base.

import Foundation
import NN
import Testing
import Tensors

@Suite("LoRA")
struct LoRATests {
    func makeLinear(_ i: Int, _ o: Int, seed: UInt64) -> Linear {
        var g = SeededGenerator(seed: seed)
        return Linear(i, o, generator: &g)
    }

    @Test(arguments: [1, 3])
    func zeroBEqualsTheBaseLayer(parts: Int) {
        let base = makeLinear(6, 9, seed: 1)
        var g = SeededGenerator(seed: 2)
        let x = Tensor.normal([2, 5, 6], generator: &g)
        let wrapped = LinearWithLoRA(base, rank: 2, alpha: 4, parts: parts, generator: &g)
        #expect(wrapped(x).scalars == base(x).scalars)
        #expect(wrapped.adapters.count == parts && wrapped.adapters.allSatisfy { $0.b.scalars.allSatisfy { $0 == 0 } })
        // A is Kaiming-uniform: bounded by 1/sqrt(rank) and not all zero.
        #expect(wrapped.adapters.allSatisfy { $0.a.scalars.allSatisfy { abs($0) <= 1 / Float(2).squareRoot() } })
        #expect(wrapped.adapters[0].a.scalars.contains { $0 != 0 })
    }

    @Test(arguments: [1, 3])
    func mergedEqualsUnmerged(parts: Int) {
        let base = makeLinear(4, 6, seed: 3)
        var g = SeededGenerator(seed: 4)
        let wrapped = LinearWithLoRA(base, rank: 3, alpha: 6, parts: parts, generator: &g)
        for adapter in wrapped.adapters {
            let values = Tensor.normal(adapter.b.shape, generator: &g).scalars
            adapter.b.withUnsafeMutableBufferPointer { _ = $0.initialize(from: values) }
        }
        let x = Tensor.normal([3, 4], generator: &g)
        let merged = wrapped.merged()
        #expect(!(merged is LinearWithLoRA))
        let a = wrapped(x).scalars, b = merged(x).scalars
        #expect(zip(a, b).map { abs($0 - $1) }.max()! < 1e-5)
        #expect(zip(a, base(x).scalars).map { abs($0 - $1) }.max()! > 1e-3, "the adapter changed the output")
        // Explicit: ΔW = (alpha / rank) · A · B for one adapter.
        if parts == 1 {
            let delta = wrapped.adapters[0].a.matmul(wrapped.adapters[0].b) * 2
            expectClose(merged.weight, (base.weight + delta), "merged weight")
        }
    }

    @Test func gradientsReachOnlyTheAdapters() {
        let base = makeLinear(3, 4, seed: 5)
        base.setTrainable(false)
        var g = SeededGenerator(seed: 6)
        let wrapped = LinearWithLoRA(base, rank: 2, alpha: 2, generator: &g)
        let adapter = wrapped.adapters[0]
        let bValues = Tensor.normal(adapter.b.shape, generator: &g).scalars
        adapter.b.withUnsafeMutableBufferPointer { _ = $0.initialize(from: bValues) }
        let x = Tensor.normal([5, 3], generator: &g)
        #expect(wrapped.trainableParameters.count == 2)
        func loss() -> Tensor { (wrapped(x) * wrapped(x)).sum() }
        loss().backward()
        #expect(base.weight.grad == nil && base.bias?.grad == nil)
        for p in [adapter.a, adapter.b] {
            let analytic = p.grad!.scalars
            for i in 0..<p.count {
                let original = p.scalars[i]
                func at(_ v: Float) -> Double {
                    p.withUnsafeMutableBufferPointer { $0[i] = v }
                    return Double(Autograd.withNoGrad { loss() }.item())
                }
                let h: Float = 1e-2
                let numeric = (at(original + h) - at(original - h)) / Double(2 * h)
                p.withUnsafeMutableBufferPointer { $0[i] = original }
                #expect(abs(numeric - Double(analytic[i])) < 1e-2 * max(1, abs(numeric)), "d/d\(i): \(analytic[i]) vs \(numeric)")
            }
        }
    }
}
