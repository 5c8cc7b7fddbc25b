// The models of Tests/Fixtures (shared by several test targets, so read from the source tree; made by the
// scripts/make_*_goldens.py scripts) and the reference outputs `transformers` wrote beside them.

import Foundation

/// The path of a fixture in Tests/Fixtures.
func fixtureDirectory(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent(name).path
}

/// reference.json of a fixture model: transformers' logits for some prompts, the loss of a sequence, greedy tokens.
struct Reference: Decodable {
    let prompts: [[Int]]
    let logits: [[[Double]]]
    let sequence: [Int]
    let loss: Double
    let greedy: [Int]
}
