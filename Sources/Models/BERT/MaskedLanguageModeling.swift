// BERT's pretraining objective, the inputs side (Devlin et al. 2019, §3.1; Hugging Face's
// DataCollatorForLanguageModeling): 15 % of the tokens are chosen — never [CLS], [SEP] or padding — and the model
// must name them. Of the chosen, 80 % are replaced by [MASK], 10 % by a random token and 10 % left as they are, so
// the model cannot learn that only [MASK] positions matter. Labels hold the original token where chosen and -100
// (ignored by the loss) elsewhere. The draws come from a seeded generator: a trainer seeds it per epoch, so the
// masks change every epoch and a run is reproducible.

import Tensors

public struct MaskedLanguageModeling: Sendable {
    public var probability = 0.15
    public var maskFraction = 0.8
    public var randomFraction = 0.1
    public let maskToken: Int
    public let vocabularySize: Int
    public let special: Set<Int>

    public init(maskToken: Int, vocabularySize: Int, special: Set<Int>) {
        (self.maskToken, self.vocabularySize, self.special) = (maskToken, vocabularySize, special)
    }

    /// The model's inputs and the labels for `ids`.
    public func mask(_ ids: [Int], generator: inout SeededGenerator) -> (inputs: [Int], labels: [Int]) {
        var inputs = ids, labels = [Int](repeating: -100, count: ids.count)
        for (i, id) in ids.enumerated() where !special.contains(id) {
            guard Double.random(in: 0..<1, using: &generator) < probability else { continue }
            labels[i] = id
            let r = Double.random(in: 0..<1, using: &generator)
            if r < maskFraction {
                inputs[i] = maskToken
            } else if r < maskFraction + randomFraction {
                inputs[i] = Int.random(in: 0..<vocabularySize, using: &generator)
            }
        }
        return (inputs, labels)
    }
}
