// What every translator of `llm seq2seq` offers, whatever is inside: the RNN encoder-decoder (with or without
// Bahdanau attention) and the Transformer. Training needs the teacher-forced logits; translating, a decoding with
// the alignment of each output word over the source words, where the model has one to show.

import NN
import Tensors

public protocol EncoderDecoder: Module {
    /// Teacher forcing: the logits (B, T, V) for `source` ids (B × S, row after row; row b's first `sourceLengths[b]`
    /// tokens, then padding) and the decoder reading `targetInputs` (B × T: begin, y_1 … y_{T−1}, padding).
    func logits(source: [Int], sourceLengths: [Int], targetInputs: [Int]) -> Tensor

    /// The translation of one source sentence: target ids up to (not including) `end`, at most `maxLength`, found
    /// greedily (`beam` 1) or by beam search; and for each output id a row of weights over the source (empty when
    /// `alignmentName` is nil).
    func translate(_ source: [Int], begin: Int, end: Int, maxLength: Int, beam: Int) -> (ids: [Int], alignments: [[Float]])

    /// The longest source the model can read, or nil for no limit.
    var maxSourceLength: Int? { get }
    /// What the alignment rows are ("Bahdanau attention", "cross-attention"), or nil when the model has none.
    var alignmentName: String? { get }
}
