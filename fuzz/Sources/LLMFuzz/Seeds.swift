// Seeds written by our own writers: GGUF files of a model small enough for libFuzzer to mutate quickly
// (the test fixtures are 100 KB to 3 MB; these are a few KB), one per weight type, with a byte-level
// vocabulary of 256 tokens and <|endoftext|>.

import Formats
import Foundation
import Inference
import Models
import NN
import Tokenizers

func writeSeeds(to directory: String) {
    try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let encoding = Encoding(name: "gpt2", preTokenizer: .r50k, tokens: (0...255).map { [UInt8($0)] },
                            specialTokens: ["<|endoftext|>": 256])
    // 32 columns: the smallest row q8_0 holds (one block).
    let config = GPTConfig(vocabSize: 257, contextLength: 4, embeddingSize: 32, layers: 1, heads: 2, dropout: 0)
    let model = try! InferenceModel(GPTModel(config))
    for type in [WeightType.q8_0, .f16] {
        try! model.converted(to: type).writeGGUF(to: "\(directory)/small-\(type.rawValue).gguf", encoding: encoding, name: "fuzz")
    }
    // The Llama family: a Llama with Llama 3's rope scaling (rope_freqs, q/k rows reordered) and a Qwen3 (q/k norms).
    for preset in ["llama-tiny", "qwen3-tiny"] {
        var c = try! GPTConfig.preset(preset)
        (c.vocabSize, c.contextLength, c.embeddingSize, c.intermediateSize, c.layers) = (257, 4, 32, 32, 1)
        (c.heads, c.keyValueHeadCount, c.headDimensionOverride) = (2, 1, nil)
        if preset == "llama-tiny" { c.ropeScaling = Llama3RopeScaling(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 4) }
        let small = try! InferenceModel(GPTModel(c))
        try! small.converted(to: .q8_0).writeGGUF(to: "\(directory)/small-\(preset).gguf", encoding: encoding, name: "fuzz")
    }
    // An index of three chunks of four dimensions (llm index), beside the GGUF seeds' directory.
    let indexSeeds = (directory as NSString).deletingLastPathComponent + "/vector-index"
    try! FileManager.default.createDirectory(atPath: indexSeeds, withIntermediateDirectories: true)
    let index = VectorIndex(embedder: ["name": "fuzz", "fingerprint": "0"], settings: ["chunk_tokens": 8, "overlap": 0], dimension: 4)
    index.add((0..<3).map { IndexedChunk(id: "c\($0)", source: "a.txt", start: $0, end: $0 + 1, text: "chunk \($0)", metadata: ["k": $0]) },
              vectors: [[1, 0, 0, 0], [0, 1, 0, 0], [0.5, 0.5, 0, 0]])
    try! index.write(to: indexSeeds + "/small.index")
    // And one of 40 with an HNSW graph (version 2).
    let graphed = VectorIndex(embedder: ["name": "fuzz", "fingerprint": "0"], settings: ["chunk_tokens": 8, "overlap": 0], dimension: 4)
    graphed.add((0..<40).map { IndexedChunk(id: "g\($0)", source: "b.txt", start: 0, end: 1, text: "") },
                vectors: (0..<40).map { i in (0..<4).map { Float(sin(Double(i * 4 + $0))) } })
    graphed.buildGraph(m: 2, efConstruction: 8)
    try! graphed.write(to: indexSeeds + "/graph.index")
}
