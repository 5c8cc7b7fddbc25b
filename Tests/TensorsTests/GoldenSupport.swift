// Reading the PyTorch goldens (scripts/make_tensor_goldens.py) and comparing tensors.

import Foundation
import Testing
import Tensors

struct EncodedTensor: Codable {
    let shape: [Int]
    let data: [Double]
    var tensor: Tensor { Tensor(data.map { Float($0) }, shape: shape) }
}

struct GoldenCase: Codable, CustomTestStringConvertible {
    let name: String
    let op: String
    let inputs: [EncodedTensor]
    let ints: [String: [Int]]
    let params: [String: Double]
    let output: EncodedTensor
    let upstream: EncodedTensor?
    let grads: [EncodedTensor]?
    var testDescription: String { name }
}

struct GoldenFile: Codable {
    let generator: String
    let cases: [GoldenCase]
}

enum Goldens {
    static let cases: [GoldenCase] = {
        let url = Bundle.module.url(forResource: "tensor-goldens", withExtension: "json")!
        return try! JSONDecoder().decode(GoldenFile.self, from: Data(contentsOf: url)).cases
    }()
}

/// Expects `actual` to equal `expected` elementwise within atol + rtol * |expected|.
func expectClose(_ actual: [Float], _ expected: [Double], atol: Double = 1e-4, rtol: Double = 1e-4,
                 _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)",
            sourceLocation: sourceLocation)
    guard actual.count == expected.count else { return }
    var worst = 0.0, worstIndex = -1
    for i in 0..<actual.count {
        let excess = abs(Double(actual[i]) - expected[i]) - (atol + rtol * abs(expected[i]))
        if excess > worst || (actual[i].isNaN != expected[i].isNaN) { worst = Swift.max(excess, 1); worstIndex = i }
    }
    #expect(worstIndex < 0, "\(what): element \(worstIndex) is \(worstIndex < 0 ? 0 : actual[worstIndex]), expected \(worstIndex < 0 ? 0 : expected[worstIndex])",
            sourceLocation: sourceLocation)
}

func expectClose(_ actual: Tensor, _ expected: Tensor, atol: Double = 1e-5, rtol: Double = 1e-4,
                 _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.shape == expected.shape, "\(what): shape \(actual.shape), expected \(expected.shape)",
            sourceLocation: sourceLocation)
    expectClose(actual.scalars, expected.scalars.map(Double.init), atol: atol, rtol: rtol, what, sourceLocation: sourceLocation)
}
