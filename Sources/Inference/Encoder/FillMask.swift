// Masked-language modelling put to use: what a BERT puts behind each [MASK] of a text, with the probabilities and
// the shape of the `transformers` fill-mask pipeline's answer ({score, token, token_str, sequence} per candidate,
// one list per [MASK]). `llm fill-mask` prints it; the playground's fill-mask view draws it.

import Foundation
import Models
import Tensors
import Tokenizers

/// One candidate for one [MASK]: its probability, id, text, and the whole text with it in place of that [MASK].
public struct MaskCandidate: Sendable {
    public let score: Double
    public let token: Int
    public let tokenString: String
    public let sequence: String

    public var json: [String: Any] { ["score": score, "token": token, "token_str": tokenString, "sequence": sequence] }
}

/// A text a BERT cannot fill: no [MASK] in it, no [MASK] in the vocabulary, or too long.
public struct FillMaskError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// The `topK` most likely tokens at each [MASK] of a text, in the text's order; `ids` are the text as the tokenizer
/// encodes it ([CLS] … [SEP]). Each [MASK] is scored by one forward pass over the whole text (the others stay masked,
/// as the pipeline does), softmax over the vocabulary.
public func fillMask(_ model: BERTForMaskedLM, tokenizer: WordPieceTokenizer, ids: [Int], topK: Int) throws -> [[MaskCandidate]] {
    guard let mask = tokenizer.mask else { throw FillMaskError(description: "the vocabulary has no [MASK] token") }
    let positions = ids.indices.filter { ids[$0] == mask }
    guard !positions.isEmpty else { throw FillMaskError(description: "the text has no [MASK] to fill") }
    guard ids.count <= model.config.maxPositions else {
        throw FillMaskError(description: "the text is \(ids.count) tokens; this BERT reads at most \(model.config.maxPositions)")
    }
    let v = model.config.vocabSize
    let logits = Autograd.withNoGrad { model(ids).scalars }
    return try positions.map { p in
        let row = logits[(p * v)..<((p + 1) * v)]
        let top = row.max()!
        let exps = row.map { Foundation.exp(Double($0 - top)) }, total = exps.reduce(0, +)
        return try exps.indices.sorted { exps[$0] > exps[$1] }.prefix(topK).map { id in
            var filled = ids
            filled[p] = id
            return MaskCandidate(score: exps[id] / total, token: id, tokenString: try tokenizer.decode([id]), sequence: try tokenizer.decode(filled))
        }
    }
}
