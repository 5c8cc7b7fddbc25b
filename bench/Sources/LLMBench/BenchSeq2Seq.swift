// `LLMBench seq2seq`: one training step (teacher-forced forward, cross-entropy, backward, AdamW) of the three
// translators of `llm seq2seq` at the experiment's sizes (docs/BEFORE_ATTENTION.md): a GRU encoder-decoder of hidden
// size 160 without attention, one of 128 with Bahdanau attention, and a 2 + 2 layer Transformer of width 64; batch
// 32, sources and targets of 24 words, vocabularies of 40. bench/reference/bench_seq2seq.py runs the same models
// in PyTorch eager (nn.GRU, an nn.GRUCell loop with the same additive attention, nn.Transformer).

import Foundation
import Models
import NN
import Tensors

func benchSeq2Seq(_ args: [String]) {
    let (b, s, t, v) = (32, 24, 24, 40)
    var g = SeededGenerator(seed: 3)
    let source = (0..<(b * s)).map { _ in 3 + Int(g.next() % UInt64(v - 3)) }
    let targets = (0..<(b * t)).map { _ in 3 + Int(g.next() % UInt64(v - 3)) }
    let inputs = (0..<b).flatMap { row in [1] + targets[(row * t)..<(row * t + t - 1)] }
    let lengths = [Int](repeating: s, count: b)
    let models: [(String, any EncoderDecoder)] = [
        ("rnn (GRU 160)", RNNEncoderDecoder(.init(sourceVocabulary: v, targetVocabulary: v, hiddenSize: 160, attention: false), seed: 1)),
        ("rnn-attention (GRU 128 + Bahdanau)", RNNEncoderDecoder(.init(sourceVocabulary: v, targetVocabulary: v, hiddenSize: 128, attention: true), seed: 1)),
        ("transformer (2+2 × 64, 4 heads)", TransformerEncoderDecoder(.init(sourceVocabulary: v, targetVocabulary: v), seed: 1)),
    ]
    for (name, model) in models where args.isEmpty || args.contains(where: { name.hasPrefix($0 + " ") }) {
        model.train()
        let optimizer = AdamW(parameters: model.parameters, learningRate: 1e-3, weightDecay: 0)
        let seconds = time(repeats: 7) {
            optimizer.zeroGrad()
            model.logits(source: source, sourceLengths: lengths, targetInputs: inputs).crossEntropy(targets: targets).backward()
            optimizer.update()
        }
        emit(["bench": "seq2seq", "shape": name, "variant": "train step B=32 S=T=24", "impl": "llm (Swift+C)", "threads": Threads.count,
              "seconds": seconds, "tokens_per_s": Double(b * t) / seconds, "peak_rss_gb": peakResidentGB()])
    }
}
