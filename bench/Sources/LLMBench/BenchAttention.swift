// `LLMBench attention`: causal attention forward + backward for 12 heads of 64 dims (GPT-2 small) at
// several context lengths, fused kernel against the composed ops (matmul, causal softmax, matmul).

import Foundation
import Tensors

func benchAttention(_ args: [String]) {
    for t in [256, 1024, 4096] {
        var g = SeededGenerator(seed: 1)
        let shape = [1, 12, t, 64]
        let q = Tensor.normal(shape, generator: &g, requiresGrad: true), k = Tensor.normal(shape, generator: &g, requiresGrad: true)
        let v = Tensor.normal(shape, generator: &g, requiresGrad: true), up = Tensor.normal(shape, generator: &g)
        let repeats = t >= 4096 ? 3 : 5
        for variant in ["fused", "composed"] {
            let seconds = time(repeats: repeats) {
                let y = variant == "fused" ? Tensor.scaledDotProductAttention(q, k, v, causal: true)
                    : (q.matmul(k.transposed()) / 8).causalSoftmax().matmul(v)
                (y * up).sum().backward()
                q.zeroGrad(); k.zeroGrad(); v.zeroGrad()
            }
            emit(["bench": "attention", "shape": "T=\(t)", "variant": "forward+backward", "impl": variant == "fused" ? "llm (Swift+C)" : "llm composed ops",
                  "threads": Threads.count, "seconds": seconds, "tokens_per_s": Double(t) / seconds])
        }
    }
}
