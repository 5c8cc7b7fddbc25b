// AdamW against torch.optim.AdamW: the same parameters and gradients give the same parameters after
// every step (bias correction and decoupled weight decay included).

import Foundation
import NN
import Testing
import Tensors

struct AdamWGolden: Codable {
    struct Step: Codable { let grad: [Double]; let param: [Double] }
    let lr, beta1, beta2, eps, weight_decay: Double
    let shape: [Int]
    let initial: [Double]
    let steps: [Step]
}

@Suite("AdamW")
struct AdamWTests {
    @Test func matchesPyTorch() throws {
        let url = try #require(Bundle.module.url(forResource: "nn-goldens", withExtension: "json"))
        struct File: Codable { let adamw: AdamWGolden }
        let g = try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).adamw
        let p = Tensor(g.initial.map(Float.init), shape: g.shape, requiresGrad: true)
        let optimizer = AdamW(parameters: [p], learningRate: Float(g.lr), beta1: Float(g.beta1), beta2: Float(g.beta2),
                              eps: Float(g.eps), weightDecay: Float(g.weight_decay))
        for (i, step) in g.steps.enumerated() {
            optimizer.zeroGrad()
            // Make the gradient exactly `step.grad`: d(sum(p * g))/dp = g.
            (p * Tensor(step.grad.map(Float.init), shape: g.shape)).sum().backward()
            optimizer.update()
            for (actual, expected) in zip(p.scalars, step.param) {
                #expect(abs(Double(actual) - expected) < 1e-6, "step \(i + 1): \(actual) vs \(expected)")
            }
        }
    }

    @Test func parametersWithoutGradientAreLeftAlone() {
        let p = Tensor([1, 2], requiresGrad: true)
        let optimizer = AdamW(parameters: [p], learningRate: 0.1)
        optimizer.update()
        #expect(p.scalars == [1, 2])
    }
}
