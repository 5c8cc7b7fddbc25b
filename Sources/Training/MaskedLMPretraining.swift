// BERT's objective for the trainer: masked-language modelling (Devlin et al. 2019, §3.1). The text is packed as
// GPT's is — one stream of WordPiece ids, documents joined by [SEP], cut into windows — and each window becomes one
// sequence [CLS] window [SEP]. In every sequence 15 % of the tokens are chosen (80 % [MASK], 10 % random, 10 % kept;
// MaskedLanguageModeling.swift) and the loss is the cross-entropy of the chosen ones only.
//
// The masks are drawn from a generator seeded by the draw the trainer names (its seed and the step) and the row's
// place in the global batch: every step draws new masks (so every epoch does), a resumed run draws what an unbroken
// one would, and data-parallel processes draw what one process would, and weigh their shares' losses by the tokens
// chosen in them, so the averaged gradient is the one process's. Evaluations reuse the same draws each time, so their
// losses compare.

import Formats
import Foundation
import Models
import NN
import Tensors
import Tokenizers

public final class MaskedLMPretraining: PretrainingObjective {
    public let model: BERTForMaskedLM
    public let tokenizer: WordPieceTokenizer
    public let masking: MaskedLanguageModeling

    public init(model: BERTForMaskedLM, tokenizer: WordPieceTokenizer) throws {
        guard let mask = tokenizer.mask else { throw DatasetError(description: "the tokenizer has no [MASK] token: it cannot train a masked LM") }
        guard tokenizer.vocabularySize <= model.config.vocabSize else {
            throw DatasetError(description: "the model's vocabulary (\(model.config.vocabSize)) is smaller than the tokenizer's (\(tokenizer.vocabularySize))")
        }
        self.model = model
        self.tokenizer = tokenizer
        let special = Set([tokenizer.classifier, tokenizer.separator, tokenizer.padding, mask, tokenizer.unknown])
        masking = MaskedLanguageModeling(maskToken: mask, vocabularySize: tokenizer.vocabularySize, special: special)
    }

    public var module: Module { model }
    /// [CLS] and [SEP] take two of the model's positions.
    public var windowLimit: Int { model.config.maxPositions - 2 }
    public var vocabularySize: Int { tokenizer.vocabularySize }
    public var summary: String {
        let c = model.config
        return "BERT masked LM, \(model.parameterCount.formatted()) parameters (\(c.layers) layers, \(c.hiddenSize) wide, \(c.heads) heads), " +
            "\(Int(masking.probability * 100)) % of tokens masked"
    }

    /// Sequences [CLS] window [SEP] and their labels; a row's masks come from (draw, its global row index).
    public func maskedBatch(_ batch: TokenBatch, draw: UInt64, firstRow: Int) -> (ids: [Int], labels: [Int], length: Int) {
        let length = batch.length + 2
        var ids: [Int] = [], labels: [Int] = []
        ids.reserveCapacity(batch.batchSize * length)
        for r in 0..<batch.batchSize {
            let row = [tokenizer.classifier] + batch.inputs[(r * batch.length)..<((r + 1) * batch.length)] + [tokenizer.separator]
            var generator = SeededGenerator(seed: draw &* 0x2545_F491_4F6C_DD1D &+ UInt64(firstRow + r) &* 0x9E37_79B9_7F4A_7C15)
            let (inputs, rowLabels) = masking.mask(row, generator: &generator)
            ids += inputs
            labels += rowLabels
        }
        // A batch in which nothing was chosen (short windows can be unlucky) would have no loss: choose its first
        // token, left as it is.
        if !labels.contains(where: { $0 != -100 }), let first = ids.indices.first(where: { !masking.special.contains(ids[$0]) }) {
            labels[first] = ids[first]
        }
        return (ids, labels, length)
    }

    /// The masks of the whole batch are drawn (cheap) so that each share's loss is its sum over the chosen tokens
    /// divided by the whole batch's count of them: the shares' mean is then exactly the batch's mean, even though
    /// the shares hold different numbers of chosen tokens.
    public func loss(_ batch: TokenBatch, draw: UInt64, rows: Range<Int>) -> Tensor {
        let (ids, labels, length) = maskedBatch(batch, draw: draw, firstRow: 0)
        let span = (rows.lowerBound * length)..<(rows.upperBound * length)
        var mine = Array(labels[span])
        let chosenHere = mine.filter { $0 != -100 }.count, chosenAll = labels.filter { $0 != -100 }.count
        if chosenHere == 0 { // nothing chosen in this share: a token weighted 0, so the backward pass still runs (and gives 0)
            let first = span.first { !masking.special.contains(ids[$0]) } ?? span.lowerBound + 1
            mine[first - span.lowerBound] = ids[first]
        }
        let mean = model.maskedLoss(Array(ids[span]), labels: mine, batch: rows.count)
        if chosenHere == chosenAll { return mean }
        let processes = Float(batch.batchSize) / Float(rows.count)
        return mean * (processes * Float(chosenHere) / Float(chosenAll))
    }

    /// The prompt with its last word hidden, and the model's three best guesses for it.
    public func sample(prompt: String, tokens: Int) throws -> String {
        var words = prompt.split(separator: " ").map(String.init)
        guard words.count >= 2, let mask = tokenizer.mask else { return "" }
        let hidden = words.removeLast()
        let (ids, _) = tokenizer.encode(words.joined(separator: " ") + " [MASK]")
        guard let at = ids.firstIndex(of: mask) else { return "" }
        model.eval()
        let logits = Autograd.withNoGrad { model(ids) }.scalars
        let v = model.config.vocabSize
        let row = Array(logits[(at * v)..<((at + 1) * v)].prefix(tokenizer.vocabularySize))
        let best = row.indices.sorted { row[$0] > row[$1] }.prefix(3).map { tokenizer.vocabulary[$0] }
        return "\(words.joined(separator: " ")) [MASK] (\(hidden)) → \(best.joined(separator: ", "))"
    }

    public func save(to directory: String, metadata: [String: String]) throws {
        try BERTCheckpoint.save(model, to: directory)
        try tokenizer.write(toModelDirectory: directory, maxLength: model.config.maxPositions)
    }

    public func restore(from directory: String) throws {
        let saved = try BERTCheckpoint.loadMaskedLM(directory)
        var (savedShape, askedShape) = (saved.config, model.config)
        (savedShape.architectures, askedShape.architectures) = (nil, nil)
        (savedShape.hiddenDropout, savedShape.attentionDropout) = (askedShape.hiddenDropout, askedShape.attentionDropout)
        guard savedShape == askedShape else { throw DatasetError(description: "the checkpoint in \(directory) is a different model from the one asked for") }
        copyValues(from: saved.parameters, to: model.parameters)
    }
}
