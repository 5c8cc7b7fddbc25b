// What every text classifier offers the fine-tuning loop and `llm classify`, whichever family it is built on: a
// GPT reading its last token (GPT/GPTClassifier.swift) or a BERT reading its pooled [CLS] (BERT/
// BERTForSequenceClassification.swift).

import Foundation
import NN
import Tensors

public protocol SequenceClassifier: LoRAAdaptable {
    /// Class names by index.
    var labels: [String] { get }
    /// The token batches are padded with.
    var padTokenId: Int { get }
    /// The longest text, in tokens, it reads (longer ones keep their first tokens).
    var maxTokens: Int { get }
    /// Class logits (B, K) for `batch` texts given row-major as ids (B, T), each `lengths[b]` tokens followed by padding.
    func callAsFunction(_ ids: [Int], batch: Int, lengths: [Int]) -> Tensor
    /// Freezes everything but the last `lastBlocks` blocks and what follows them (nil: everything trains).
    func freezeAllBut(lastBlocks: Int?)
}

extension SequenceClassifier {
    /// Class probabilities for each text (token ids as the classifier reads them), without recording gradients.
    public func probabilities(_ texts: [[Int]], batchSize: Int = 16) -> [[Float]] {
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        var result: [[Float]] = []
        for start in stride(from: 0, to: texts.count, by: batchSize) {
            let chunk = texts[start..<min(start + batchSize, texts.count)].map { Array($0.prefix(maxTokens)) }
            precondition(chunk.allSatisfy { !$0.isEmpty }, "cannot classify an empty text")
            let t = chunk.map(\.count).max()!
            let ids = chunk.flatMap { $0 + Array(repeating: padTokenId, count: t - $0.count) }
            let p = Autograd.withNoGrad { self(ids, batch: chunk.count, lengths: chunk.map(\.count)).softmax() }.scalars
            result += (0..<chunk.count).map { Array(p[($0 * labels.count)..<(($0 + 1) * labels.count)]) }
        }
        return result
    }
}
