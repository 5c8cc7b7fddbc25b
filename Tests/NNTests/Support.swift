// Shared helpers for the NN tests.

import Foundation
import NN
import Testing
import Tensors

struct Encoded: Codable {
    let shape: [Int]
    let data: [Double]
    var tensor: Tensor { Tensor(data.map(Float.init), shape: shape) }
}

func expectClose(_ actual: Tensor, _ expected: [Double], atol: Double = 1e-5, rtol: Double = 1e-4,
                 _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let a = actual.scalars
    #expect(a.count == expected.count, "\(what): \(a.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    guard a.count == expected.count else { return }
    let worst = zip(a, expected).map { abs(Double($0) - $1) - (atol + rtol * abs($1)) }.max() ?? 0
    #expect(worst <= 0, "\(what): off by \(worst) beyond tolerance; got \(a.prefix(4)), expected \(expected.prefix(4))",
            sourceLocation: sourceLocation)
}

func expectClose(_ actual: Tensor, _ expected: Tensor, atol: Double = 1e-5, rtol: Double = 1e-4,
                 _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.shape == expected.shape, "\(what): shape \(actual.shape) vs \(expected.shape)", sourceLocation: sourceLocation)
    expectClose(actual, expected.scalars.map(Double.init), atol: atol, rtol: rtol, what, sourceLocation: sourceLocation)
}

/// Copies `values` into a parameter in place.
func assign(_ parameter: Tensor, _ values: Tensor) {
    precondition(parameter.shape == values.shape, "assign \(values.shape) to \(parameter.shape)")
    values.withUnsafeBufferPointer { src in parameter.withUnsafeMutableBufferPointer { dst in _ = dst.initialize(from: src) } }
}
