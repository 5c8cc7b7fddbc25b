// `LLMBench train` and `LLMBench generate`: whole-model throughput.
// train: training steps (forward, backward, AdamW) of GPT-2 124M at batch 8 x 256 and of the small preset
// (4 layers, 256 wide, context 256) at batch 8 x 256, on random tokens, dropout 0.1; in fp32, and with the matrix
// products in bf16 (the "bf16" rows also carry our fp32 figure from the same run, as "llm fp32").
// generate: GPT-2 124M / medium / xl in f32, f16, bf16, q8_0 GGUF files: 128 new tokens greedy at batch 1, and a
// 512-token prefill, on 1 and 2 threads (see benchGenerate).

import Formats
import Foundation
import Inference
import Models
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
        var fp32TokensPerSecond = 0.0
        // `fp32` or `bf16` among the arguments runs that precision alone (bench/profile_train.sh profiles one).
        for precision in MatmulPrecision.allCases where !args.contains(where: { MatmulPrecision(rawValue: $0) != nil }) || args.contains(precision.rawValue) {
            let seconds = time(repeats: name == "gpt2" ? 3 : 7) {
                Tensor.withMatmulPrecision(precision) {
                    optimizer.zeroGrad()
                    model(x, batch: b).crossEntropy(targets: y).backward()
                    optimizer.update()
                }
            }
            let tokensPerSecond = Double(b * t) / seconds
            let variant = precision == .fp32 ? "step (fwd+bwd+AdamW)" : "step bf16 (fwd+bwd+AdamW)"
            emit(["bench": "train", "shape": "\(name) B=8 T=256", "variant": variant, "impl": "llm (Swift+C)",
                  "threads": Threads.count, "seconds": seconds, "tokens_per_s": tokensPerSecond,
                  "peak_rss_gb": peakResidentGB(), "kernel": precision.kernelName])
            if precision == .fp32 {
                fp32TokensPerSecond = tokensPerSecond
            } else if fp32TokensPerSecond > 0 {
                emit(["bench": "train", "shape": "\(name) B=8 T=256", "variant": variant, "impl": "llm fp32",
                      "threads": Threads.count, "tokens_per_s": fp32TokensPerSecond])
            }
        }
    }
}

/// `LLMBench generate MODEL TYPE [--prepare]`: the GGUF of bench/.cache/MODEL-random in TYPE (written from the fp32
/// checkpoint by our exporter on first use, and read by llama.cpp too), decoding 128 new tokens greedy at
/// batch 1 and prefilling a 512-token prompt, on 1 and 2 threads. gpt2-xl (q8_0 only) is made from random
/// weights in memory, since its fp32 checkpoint would be 6 GB.
func benchGenerate(_ args: [String]) {
    let name = args.count > 0 ? args[0] : "gpt2", type = WeightType(rawValue: args.count > 1 ? args[1] : "f32")!
    let cache = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".cache").path
    let gguf = "\(cache)/\(name)-random-\(type.rawValue).gguf"
    let llamaFamily = GPTConfig.presets[name]?.isLlamaFamily == true
    let encoding = llamaFamily ? benchEncoding(vocabulary: GPTConfig.presets[name]!.vocabSize) : try! Encoding.named("gpt2")
    if !FileManager.default.fileExists(atPath: gguf) {
        let source: InferenceModel
        if name == "gpt2-xl" || llamaFamily { // random weights made in memory (no fp32 checkpoint on disk)
            var config = try! GPTConfig.preset(name)
            config.contextLength = min(config.contextLength, 1024)
            source = try! InferenceModel(GPTModel(config, seed: 1))
        } else {
            source = try! InferenceModel.load("\(cache)/\(name)-random").0
        }
        try! source.converted(to: type).writeGGUF(to: gguf, encoding: encoding, name: "\(name)-random")
        FileHandle.standardError.write("wrote \(gguf)\n".data(using: .utf8)!)
    }
    // Measured by a separate run (bench/run calls `--prepare` first): the fp32 model made above would count
    // in this process's peak memory, and so would it in a child's (Linux keeps ru_maxrss across fork and exec).
    if args.contains("--prepare") { return }
    let (model, _) = try! InferenceModel.load(gguf: gguf)
    let prompt = encoding.encodeOrdinary("Every effort moves you toward the")
    let label = name == "gpt2" ? "gpt2 124M" : name
    var g = SeededGenerator(seed: 3)
    let longPrompt = (0..<512).map { _ in Int(g.next() % 50257) }
    for threads in [1, 2] {
        Threads.count = threads
        var result: GenerationResult?
        let seconds = time(repeats: 3) {
            result = try! model.generate(prompt: prompt, encoding: encoding, options: SamplingOptions(maxNewTokens: 128, temperature: 0))
        }
        let tokens = Double(result!.ids.count)
        emit(["bench": "generate", "shape": label, "variant": "decode \(type.rawValue), \(threads) thread(s)", "impl": "llm (Swift+C)",
              "threads": threads, "seconds": seconds, "tokens_per_s": tokens / seconds,
              "weight_gb_per_s": Double(model.bytesReadPerToken) * tokens / seconds / 1e9, "peak_rss_gb": peakResidentGB()])
        let prefill = time(repeats: name == "gpt2-xl" ? 1 : 3) {
            let slots = KVSlots(slots: 1, config: model.config)
            _ = model.forward(tokens: longPrompt, slots: Array(repeating: 0, count: 512), positions: Array(0..<512),
                              cache: slots, logitsFor: [511])
        }
        emit(["bench": "generate", "shape": label, "variant": "prefill 512 \(type.rawValue), \(threads) thread(s)", "impl": "llm (Swift+C)",
              "threads": threads, "seconds": prefill, "tokens_per_s": 512 / prefill, "peak_rss_gb": peakResidentGB()])
    }
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

/// A byte-level BPE with exactly `vocabulary` ids for a Llama-family model of random weights: o200k_base's first
/// ranks and <|endoftext|> last (random weights emit any id, so every id must decode; llama.cpp wants one per row).
func benchEncoding(vocabulary: Int) -> Encoding {
    let o200k = try! Encoding.named("o200k_base")
    return Encoding(name: "o200k-cut", preTokenizer: .o200k, tokens: (0..<(vocabulary - 1)).map { o200k.bytes(ofToken: $0) },
                    specialTokens: ["<|endoftext|>": vocabulary - 1])
}

/// One decode step of B sequences at once (the serving engine's batch), each in its own slot after a
/// prompt (64 tokens, or args[4]): tokens/s for B = 1, 2, 4, 8, the model forward alone (no sampling, no
/// HTTP). A diagnostic with no reference (not in bench/run): `LLMBench decode-batch gpt2 f32 [1,8] [repeats] [prompt]`.
func benchDecodeBatch(_ args: [String]) {
    let name = args.count > 0 ? args[0] : "gpt2", type = WeightType(rawValue: args.count > 1 ? args[1] : "f32")!
    let cache = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".cache").path
    var model = try! InferenceModel.load("\(cache)/\(name)-random").0
    if type != .f32 { model = try! model.converted(to: type) }
    Threads.count = 2
    let batches = args.count > 2 ? args[2].split(separator: ",").map { Int($0)! } : [1, 2, 4, 8]
    for batch in batches {
        let slots = KVSlots(slots: batch, config: model.config)
        let prompt = args.count > 4 ? Int(args[4])! : 64
        for s in 0..<batch {
            _ = model.forward(tokens: Array(0..<prompt), slots: Array(repeating: s, count: prompt), positions: Array(0..<prompt), cache: slots, logitsFor: [prompt - 1])
        }
        var steps = 0
        let seconds = time(repeats: args.count > 3 ? Int(args[3])! : 5) {
            let pos = prompt + steps
            steps += 1
            _ = model.forward(tokens: Array(repeating: 11, count: batch), slots: Array(0..<batch),
                              positions: Array(repeating: pos, count: batch), cache: slots, logitsFor: Array(0..<batch))
        }
        emit(["bench": "decode-batch", "shape": name, "variant": "\(type.rawValue) batch \(batch)", "impl": "llm (Swift+C)",
              "threads": 2, "seconds": seconds, "tokens_per_s": Double(batch) / seconds])
    }
}
