// Our side of the benchmarks: `LLMBench NAME` prints one JSON object per line, one per measured row,
// which bench/run joins with the reference's rows. Each figure is the median of several timed runs
// after a warm-up.

import Foundation
import Tensors

func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }

/// Median seconds of `body` over `repeats` runs (after one warm-up run).
func time(repeats: Int, _ body: () -> Void) -> Double {
    body()
    return median((0..<repeats).map { _ in
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    })
}

func emit(_ row: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: row, options: [.sortedKeys])
    print(String(data: data, encoding: .utf8)!)
    fflush(nil)
}

/// GPT-2 layer shapes with M = 2048 tokens: forward (x @ W), and the two backward products
/// dX = dY @ W^T and dW = X^T @ dY, as the trainer runs them. Each row also carries the share of the machine's peak
/// multiply-add rate it reaches (the peak of the instructions its kernel uses, measured by `PeakRate`), and the peak
/// itself as an extra column.
func benchGEMM(_ args: [String]) {
    let m = 2048
    var peaks: [PeakRate: Double] = [:]
    for rate in PeakRate.allCases { peaks[rate] = rate.gflops() }
    let shapes = [(768, 2304), (768, 768), (768, 3072), (3072, 768), (768, 50257)]
    for (k, n) in shapes where args.isEmpty || args.contains("\(k)x\(n)") {
        var rng = SeededGenerator(seed: 1)
        let x = Tensor.uniform([m, k], low: -1, high: 1, generator: &rng)
        let w = Tensor.uniform([k, n], low: -1, high: 1, generator: &rng)
        let dy = Tensor.uniform([m, n], low: -1, high: 1, generator: &rng)
        let repeats = n > 10_000 ? 3 : 7
        let runs = MatmulPrecision.allCases.flatMap { p in ["forward", "backward-data", "backward-weight"].map { (p, $0) } }
        for (precision, product) in runs {
            let flops = 2.0 * Double(m) * Double(n) * Double(k)
            let seconds: Double
            switch product {
            case "forward": // (M, K) @ (K, N)
                let out = Tensor.zeros([m, n])
                seconds = time(repeats: repeats) { BenchGEMM.run(false, false, m, n, k, x, k, w, n, out, n, precision) }
            case "backward-data": // (M, N) @ (K, N)^T
                let out = Tensor.zeros([m, k])
                seconds = time(repeats: repeats) { BenchGEMM.run(false, true, m, k, n, dy, n, w, n, out, k, precision) }
            default: // (M, K)^T @ (M, N)
                let out = Tensor.zeros([k, n])
                seconds = time(repeats: repeats) { BenchGEMM.run(true, false, k, n, m, x, k, dy, n, out, n, precision) }
            }
            let variant = precision == .fp32 ? product : "\(product) bf16"
            let bound = PeakRate.bound(for: precision)
            var row: [String: Any] = ["bench": "gemm", "shape": "\(k)x\(n)", "variant": variant, "impl": "llm (Swift+C)",
                                      "threads": Threads.count, "seconds": seconds, "gflops": flops / seconds / 1e9,
                                      "kernel": precision.kernelName]
            if let peak = peaks[bound] {
                row["share_of_peak"] = flops / seconds / 1e9 / peak
                emit(["bench": "gemm", "shape": "\(k)x\(n)", "variant": variant, "impl": "llm peak: \(bound.name)",
                      "threads": Threads.count, "gflops": peak])
            }
            emit(row)
        }
    }
}

let args = Array(CommandLine.arguments.dropFirst())
switch args.first {
case "gemm": benchGEMM(Array(args.dropFirst()))
case "tokenize": benchTokenize(Array(args.dropFirst()))
case "attention": benchAttention(Array(args.dropFirst()))
case "load": benchLoad(Array(args.dropFirst()))
case "train": benchTrain(Array(args.dropFirst()))
case "generate": benchGenerate(Array(args.dropFirst()))
case "finetune": benchFinetune(Array(args.dropFirst()))
case "decode-batch": benchDecodeBatch(Array(args.dropFirst()))
case "llama": benchLlama(Array(args.dropFirst()))
case "sample": benchSample(Array(args.dropFirst()))
case "bert": benchBERT(Array(args.dropFirst()))
case "seq2seq": benchSeq2Seq(Array(args.dropFirst()))
case "retrieval": benchRetrieval(Array(args.dropFirst()))
default:
    FileHandle.standardError.write("usage: LLMBench gemm|tokenize|attention|load|train|generate|finetune|llama|sample|bert|seq2seq|retrieval\n".data(using: .utf8)!)
    exit(2)
}
