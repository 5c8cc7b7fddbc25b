// `LLMBench train` and `LLMBench generate`: whole-model throughput.
// train: fp32 training steps (forward, backward, AdamW) of GPT-2 124M at batch 8 x 256 and of the
// small preset (4 layers, 256 wide, context 256) at batch 8 x 256, on random tokens, dropout 0.1.
// generate: GPT-2 124M (the checkpoint of prepare_generate.py), 128 new tokens greedy, batch 1, KV cache.

import Foundation
import GPT
import NN
import Tensors
import Tokenizers

func benchTrain(_ args: [String]) {
    for (name, config) in [("small", try! GPTConfig.preset("small")), ("gpt2", try! GPTConfig.preset("gpt2"))]
    where args.isEmpty || args.contains(name) {
        var c = config
        c.contextLength = max(c.contextLength, 256)
        let model = try! GPTModel(c, seed: 1)
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
        let seconds = time(repeats: name == "gpt2" ? 3 : 7) {
            optimizer.zeroGrad()
            model(x, batch: b).crossEntropy(targets: y).backward()
            optimizer.update()
        }
        emit(["bench": "train", "shape": "\(name) B=8 T=256", "variant": "step (fwd+bwd+AdamW)", "impl": "llm (Swift+C)",
              "threads": Threads.count, "seconds": seconds, "tokens_per_s": Double(b * t) / seconds,
              "peak_rss_gb": peakResidentGB()])
    }
}

func benchGenerate(_ args: [String]) {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".cache/gpt2-random").path
    let model = try! Checkpoint.load(dir)
    let encoding = try! Encoding.named("gpt2")
    let prompt = encoding.encodeOrdinary("Every effort moves you toward the")
    var result: GenerationResult?
    let seconds = time(repeats: 3) {
        result = try! model.generate(prompt: prompt, encoding: encoding, options: SamplingOptions(maxNewTokens: 128, temperature: 0))
    }
    let bytes = Double(model.parameterCount * 4)
    emit(["bench": "generate", "shape": "gpt2 124M, 128 new tokens", "variant": "greedy, batch 1, KV cache", "impl": "llm (Swift+C)",
          "threads": Threads.count, "seconds": seconds, "tokens_per_s": Double(result!.ids.count) / seconds,
          "weight_gb_per_s": bytes * Double(result!.ids.count) / seconds / 1e9])
}

#if os(Linux)
let RUSAGE_SELF_WHO = __rusage_who_t(RUSAGE_SELF.rawValue)
#else
let RUSAGE_SELF_WHO = RUSAGE_SELF
#endif

/// Peak resident memory of this process so far (getrusage).
func peakResidentGB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF_WHO, &usage)
    #if os(Linux)
    return Double(usage.ru_maxrss) / 1e6 // kilobytes
    #else
    return Double(usage.ru_maxrss) / 1e9 // bytes
    #endif
}
