// The autograd engine's contract: accumulation, zeroGrad, detach, no-grad scopes, graphs that reuse a
// tensor, and the seeded random numbers and dropout.

import Foundation
import Testing
import Tensors

@Suite("Autograd")
struct AutogradTests {
    @Test func gradientsAccumulateAcrossBackwardCalls() {
        let x = Tensor([1, 2, 3], requiresGrad: true)
        (x * x).sum().backward()
        #expect(x.grad!.scalars == [2, 4, 6])
        (x * x).sum().backward()
        #expect(x.grad!.scalars == [4, 8, 12])
        x.zeroGrad()
        #expect(x.grad == nil)
        (x * 3).sum().backward()
        #expect(x.grad!.scalars == [3, 3, 3])
    }

    @Test func aTensorUsedTwiceGetsBothContributions() {
        // y = x * x + x: dy/dx = 2x + 1, through two paths that meet at x.
        let x = Tensor([0.5, -1], requiresGrad: true)
        let square = x * x
        (square + x).sum().backward()
        #expect(x.grad!.scalars == [2, -1])
    }

    @Test func opsThatWriteAFreshGradientAddTheSecondContribution() {
        // GEMMs and row kernels write a new gradient buffer instead of zero-filling it and adding; a
        // tensor that already has a gradient (used twice, or a second backward) must still get the sum.
        var g = SeededGenerator(seed: 3)
        let w = Tensor.normal([5, 3], generator: &g, requiresGrad: true), b = Tensor.normal([3], generator: &g)
        let wt = Tensor.normal([3, 5], generator: &g, requiresGrad: true), up = Tensor.normal([4, 5], generator: &g)
        let ops: [(String, (Tensor) -> Tensor)] = [
            ("linear", { ($0.linear(w, bias: b) * $0.linear(w, bias: b)).sum() }),
            ("matmul", { ($0.matmul(w) * $0.matmul(w)).sum() }),
            ("matmulTransposed", { ($0.matmulTransposed(wt) * $0.matmulTransposed(wt)).sum() }),
            ("gelu", { ($0.gelu() * up).sum() }),
            ("dropout", { ($0.dropout(0.5, key: 3) * up).sum() }),
            ("crossEntropy", { $0.crossEntropy(targets: [0, 4, -100, 2]) }),
        ]
        for (name, f) in ops {
            let x = Tensor.normal([4, 5], generator: &g, requiresGrad: true)
            for p in [x, w, wt] { p.zeroGrad() }
            f(x).backward()
            let once = [x, w, wt].map { $0.grad?.scalars ?? [] }
            for p in [x, w, wt] { p.zeroGrad() }
            (f(x) + f(x) * 2).backward()     // one graph: the second use adds into the first's buffer
            f(x).backward()                  // a second backward adds into existing gradients
            for (k, p) in [x, w, wt].enumerated() {
                let got = p.grad?.scalars ?? []
                #expect(got.count == once[k].count, "\(name): gradient \(k) missing")
                for (a, e) in zip(got, once[k]) { #expect(abs(a - 4 * e) <= 1e-4 * max(1, abs(4 * e)), "\(name): gradient \(k)") }
            }
        }
    }

    @Test func detachStopsGradients() {
        let x = Tensor([2], requiresGrad: true)
        let y = x * x.detached()
        y.sum().backward()
        #expect(x.grad!.scalars == [2])
    }

    @Test func noGradScopeRecordsNothing() {
        let x = Tensor([1, 2], requiresGrad: true)
        let y = Autograd.withNoGrad { x * 2 }
        #expect(!y.requiresGrad)
        #expect(Autograd.isGradEnabled)
        #expect(Autograd.withNoGrad { Autograd.isGradEnabled } == false)
    }

    @Test func intermediateGradientsAreFreed() {
        let x = Tensor([1, 2], requiresGrad: true)
        let hidden = x * 2
        (hidden * hidden).sum().backward()
        #expect(hidden.grad == nil)
        #expect(x.grad!.scalars == [8, 16])
    }

    @Test func deepChainsDoNotOverflowTheStack() {
        let x = Tensor([1], requiresGrad: true)
        var y = x
        for _ in 0..<20_000 { y = y + 0.0 }
        y.sum().backward()
        #expect(x.grad!.scalars == [1])
    }

    @Test func seededGeneratorIsReproducible() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let x = (0..<5).map { _ in a.next() }, y = (0..<5).map { _ in b.next() }, z = (0..<5).map { _ in c.next() }
        #expect(x == y)
        #expect(x != z)
        var g = SeededGenerator(seed: 7)
        let normals = Tensor.normal([20_000], generator: &g)
        let mean = normals.mean().item(), std = normals.variance(axis: 0).item().squareRoot()
        #expect(abs(mean) < 0.03 && abs(std - 1) < 0.03, "mean \(mean), std \(std)")
        let uniforms = Tensor.uniform([20_000], low: -1, high: 3, generator: &g).scalars
        #expect(uniforms.allSatisfy { $0 >= -1 && $0 < 3 })
    }

    @Test func dropoutScalesSurvivorsAndIsOffInEvaluation() {
        var g = SeededGenerator(seed: 1)
        let x = Tensor.ones([10_000], requiresGrad: true)
        let y = x.dropout(0.25, training: true, generator: &g)
        let zeros = y.scalars.filter { $0 == 0 }.count
        #expect(abs(Double(zeros) / 10_000 - 0.25) < 0.02)
        #expect(y.scalars.allSatisfy { $0 == 0 || abs($0 - 4.0 / 3.0) < 1e-6 })
        y.sum().backward()
        #expect(x.grad!.scalars == y.scalars, "the gradient uses the same mask")
        #expect(x.dropout(0.25, training: false, generator: &g) === x)
        var g1 = SeededGenerator(seed: 9), g2 = SeededGenerator(seed: 9)
        #expect(x.dropout(0.5, training: true, generator: &g1).scalars == x.dropout(0.5, training: true, generator: &g2).scalars)
        // The mask is a function of (key, index): a prefix of a longer tensor gets the prefix of its mask.
        let long = Tensor.ones([20_000]).dropout(0.5, key: 77), short = Tensor.ones([999]).dropout(0.5, key: 77)
        #expect(Array(long.scalars.prefix(999)) == short.scalars)
        #expect(long.scalars != Tensor.ones([20_000]).dropout(0.5, key: 78).scalars)
    }

    @Test func constructionHelpers() {
        #expect(Tensor.arange(0, 5).scalars == [0, 1, 2, 3, 4])
        #expect(Tensor.arange(1, 2, step: 0.25).scalars == [1, 1.25, 1.5, 1.75])
        #expect(Tensor.full([2, 2], value: 7).scalars == [7, 7, 7, 7])
        #expect(Tensor(rows: [[1, 2], [3, 4]]).transposed().scalars == [1, 3, 2, 4])
        #expect(Tensor.zeros([0, 3]).count == 0)
    }

    @Test func threadPoolRunsEveryIndexOnce() {
        let saved = Threads.count
        defer { Threads.count = saved }
        for threads in [1, 2, 4] {
            Threads.count = threads
            let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: 1000)
            counts.initialize(repeating: 0)
            defer { counts.deallocate() }
            Threads.parallelFor(1000) { counts[$0] += 1 }
            #expect(counts.allSatisfy { $0 == 1 })
        }
    }

    @Test func shapeMismatchTrapsNamingBothShapes() async {
        await #expect(processExitsWith: .failure) {
            _ = Tensor.zeros([2, 3]) + Tensor.zeros([4])
        }
    }
}
