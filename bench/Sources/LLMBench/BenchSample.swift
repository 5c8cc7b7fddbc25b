// `bench/run sample`: picking the next token from 50,257 logits (GPT-2's vocabulary) with temperature,
// top-k and top-p, one row at a time as a decoding step does, on the rows prepare_sample.py writes (a
// trained model's peaked prediction and a random model's flat one). Throughput in tokens drawn per second.

import Foundation
import Inference
import Tensors

func benchSample(_ args: [String]) {
    let cache = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.cache").standardized
    let variants: [(String, SamplingOptions)] = [
        ("temperature 0.8", SamplingOptions(temperature: 0.8)),
        ("top-k 40", SamplingOptions(temperature: 1, topK: 40)),
        ("top-p 0.9", SamplingOptions(temperature: 1, topP: 0.9)),
        ("top-k 40, top-p 0.9", SamplingOptions(temperature: 1, topK: 40, topP: 0.9)),
    ]
    for shape in ["peaked", "flat"] {
        let data = try! Data(contentsOf: cache.appendingPathComponent("sample-logits-\(shape).f32"))
        let all = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let rows = stride(from: 0, to: all.count, by: 50257).map { Array(all[$0..<($0 + 50257)]) }
        for (variant, options) in variants {
            var generator = SeededGenerator(seed: 0)
            var picked = 0
            let seconds = time(repeats: 5) { for row in rows { picked &+= sampleToken(row, options: options, generator: &generator) } }
            emit(["bench": "sample", "shape": "50257 logits, \(shape)", "variant": variant, "impl": "llm (Swift+C)",
                  "threads": 1, "seconds": seconds, "tokens_per_s": Double(rows.count) / seconds, "checksum": picked])
        }
    }
}
