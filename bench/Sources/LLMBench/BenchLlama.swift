// `LLMBench llama`: the Llama family on our engine.
// decode: Qwen3-0.6B's shape (28 layers, 1024 wide, 16 query heads of 128 sharing 8 key/value heads, SwiGLU
// 3072, vocabulary 151,936, tied), random weights, greedy 128 new tokens at batch 1 after a 6-token prompt, in
// f32 and bf16, on 2 threads (LLM_NUM_THREADS).
// train: fp32 training steps (forward, backward, AdamW) of a small Llama (4 layers, 256 wide, 4 query heads
// sharing 2 key/value heads, SwiGLU 704, GPT-2's vocabulary) at batch 8 x 256, on random tokens.

import Foundation
import Inference
import Models
import NN
import Tensors
import Tokenizers

/// The small Llama both sides train (bench/reference/bench_llama.py builds the same shape).
func benchLlamaSmall() -> GPTConfig {
    var c = try! GPTConfig.preset("llama-tiny")
    (c.contextLength, c.embeddingSize, c.layers, c.heads, c.keyValueHeadCount, c.intermediateSize) = (256, 256, 4, 4, 2, 704)
    return c
}

func benchLlama(_ args: [String]) {
    if args.isEmpty || args.contains("train") {
        let model = try! GPTModel(benchLlamaSmall(), seed: 1)
        model.train()
        let optimizer = AdamW(parameters: model.parameters, learningRate: 1e-4, weightDecay: 0.1)
        var g = SeededGenerator(seed: 2)
        let (b, t) = (8, 256)
        var x: [Int] = [], y: [Int] = []
        for _ in 0..<b {
            let row: [Int] = (0...t).map { _ in Int(g.next() % 50257) }
            x += row.dropLast()
            y += row.dropFirst()
        }
        let seconds = time(repeats: 5) {
            optimizer.zeroGrad()
            model(x, batch: b).crossEntropy(targets: y).backward()
            optimizer.update()
        }
        emit(["bench": "llama", "shape": "llama 4x256 B=8 T=256", "variant": "train step (fwd+bwd+AdamW)", "impl": "llm (Swift+C)",
              "threads": Threads.count, "seconds": seconds, "tokens_per_s": Double(b * t) / seconds, "peak_rss_gb": peakResidentGB()])
    }
    if args.isEmpty || args.contains("decode") {
        var config = try! GPTConfig.preset("qwen3-0.6b")
        config.contextLength = 512 // the KV slot's size; the run needs 134 positions
        let fp32 = try! InferenceModel(GPTModel(config, seed: 1))
        // Any encoding with ids for the whole vocabulary (random weights pick any of its 151,936 tokens).
        let encoding = try! Encoding.named("o200k_base")
        let prompt = [6109, 3626, 6100, 345, 1863, 262]
        for (type, model) in [(WeightType.f32, fp32), (.bf16, try! fp32.converted(to: .bf16))] {
            var result: GenerationResult?
            let seconds = time(repeats: 3) {
                result = try! model.generate(prompt: prompt, encoding: encoding, options: SamplingOptions(maxNewTokens: 128, temperature: 0))
            }
            let tokens = Double(result!.ids.count)
            emit(["bench": "llama", "shape": "qwen3-0.6b", "variant": "decode 128, \(type.rawValue) weights", "impl": "llm (Swift+C)",
                  "threads": Threads.count, "seconds": seconds, "tokens_per_s": tokens / seconds,
                  "weight_gb_per_s": Double(model.bytesReadPerToken) * tokens / seconds / 1e9, "peak_rss_gb": peakResidentGB()])
        }
    }
}
