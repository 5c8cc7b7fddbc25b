// `LLMBench bert`: one masked-LM pretraining step (forward, backward, AdamW) of BertForMaskedLM shapes at batch
// 8 × 128, dropout 0.1, 15 % of the positions labelled; bench/reference/bench_bert.py runs transformers' BertForMaskedLM
// with torch.optim.AdamW on the same shapes. Our trainer scores only the labelled positions (maskedLoss: the same
// loss and gradients); the row "llm (every position scored)" scores all of them as transformers does.

import Foundation
import Models
import NN
import Tensors

func benchBERT(_ args: [String]) {
    for (name, repeats) in [("bert-small", 5), ("bert-base", 3)] where args.isEmpty || args.contains(name) {
        var config = BERTConfig.presets[name]!
        config.vocabSize = 30522
        let model = try! BERTForMaskedLM(config, seed: 1)
        model.train()
        let optimizer = AdamW(parameters: model.parameters, learningRate: 1e-4, weightDecay: 0.01)
        var g = SeededGenerator(seed: 2)
        let (b, t) = (8, 128)
        let ids = (0..<(b * t)).map { _ in Int(g.next() % 30522) }
        let labels = ids.map { id in Double.random(in: 0..<1, using: &g) < 0.15 ? id : -100 }
        for (impl, chosenOnly) in [("llm (Swift+C)", true), ("llm (every position scored)", false)] {
            let seconds = time(repeats: repeats) {
                optimizer.zeroGrad()
                let loss = chosenOnly ? model.maskedLoss(ids, labels: labels, batch: b) : model.loss(ids, labels: labels, batch: b)
                loss.backward()
                optimizer.update()
            }
            emit(["bench": "bert", "shape": "\(name) B=8 T=128", "variant": "MLM step (fwd+bwd+AdamW)", "impl": impl,
                  "threads": Threads.count, "seconds": seconds, "tokens_per_s": Double(b * t) / seconds, "peak_rss_gb": peakResidentGB()])
        }
    }
}
