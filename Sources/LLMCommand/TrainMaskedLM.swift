// `llm train` for the encoder family: a BERT (preset, BertConfig or directory) pretrained by masked-language
// modelling in the same loop as a GPT — progress, evaluations, plot, checkpoints, --resume, mpirun — with a WordPiece
// tokenizer given, taken from --init, or learnt from the training text.

import ArgumentParser
import Formats
import Foundation
import Models
import Tensors
import Tokenizers
import Training

extension Train {
    /// Whether the model asked for is a BERT.
    func trainsMaskedLM() throws -> Bool {
        if let preset { return BERTConfig.presets[preset] != nil }
        if let dir = `init` { return BERTCheckpoint.isBERT(dir) }
        if let path = config {
            guard let data = FileManager.default.contents(atPath: path) else { throw CommandError("--config \(path): cannot read it") }
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw CommandError("--config \(path): not a JSON object")
            }
            return (object["model_type"] as? String).map { $0 == "bert" } ?? (object["type_vocab_size"] != nil)
        }
        return false
    }

    func trainMaskedLM(group: OpenMPI?) throws {
        guard !(data.count == 1 && data[0].hasSuffix(".tokens")) else {
            throw CommandError("a BERT trains on text (its WordPiece tokenizer); \(data[0]) holds token ids of another tokenizer")
        }
        // The sequence length is checked before any work where the preset tells the model's positions.
        if let preset, let n = contextLength, let limit = BERTConfig.presets[preset]?.maxPositions, n < 3 || n > limit {
            throw CommandError("--context-length must be in 3...\(limit) for this BERT (it counts [CLS] and [SEP])")
        }
        let texts = data.isEmpty ? [try embeddedVerdict()] : try data.map(Input.text)
        let writes = (group?.rank ?? 0) == 0
        let wordPiece: WordPieceTokenizer
        if let path = tokenizerPath {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            if isDirectory.boolValue {
                guard let t = try WordPieceTokenizer.load(modelDirectory: path) else { throw CommandError("--tokenizer \(path): no vocab.txt or WordPiece tokenizer.json there") }
                wordPiece = t
            } else {
                wordPiece = try WordPieceTokenizer(vocabTxt: path, lowercase: !cased)
            }
        } else if let dir = `init` {
            guard let t = try WordPieceTokenizer.load(modelDirectory: dir) else { throw CommandError("--init \(dir): no vocab.txt or WordPiece tokenizer.json there") }
            wordPiece = t
        } else {
            if writes { printError("learning a WordPiece vocabulary of \(vocabSize) tokens from the training text (--tokenizer to give one)") }
            var bar = ProgressBar(total: vocabSize, label: "vocabulary", enabled: writes)
            wordPiece = try WordPieceTrainer.train(texts: texts, vocabularySize: vocabSize, normalizer: BertNormalizer(lowercase: !cased)) { done, total in
                if done % 100 == 0 || done == total { bar.update(done) }
            }
            bar.update(vocabSize)
        }

        let model: BERTForMaskedLM
        if let dir = `init` {
            model = try BERTCheckpoint.loadMaskedLM(dir, dropout: dropout)
        } else {
            var c: BERTConfig
            if let path = config {
                do { c = try JSONDecoder().decode(BERTConfig.self, from: FileManager.default.contents(atPath: path) ?? Data()) } catch {
                    throw CommandError("--config \(path): not a valid BertConfig JSON (\(error.localizedDescription))")
                }
                if let problem = c.problem { throw CommandError("--config \(path): \(problem)") }
            } else {
                c = BERTConfig.presets[preset!]!
                c.vocabSize = wordPiece.vocabularySize
                c.padTokenId = wordPiece.padding
            }
            if let p = dropout { (c.hiddenDropout, c.attentionDropout) = (p, p) }
            model = try BERTForMaskedLM(c, seed: seed)
        }
        model.train()
        let objective = try MaskedLMPretraining(model: model, tokenizer: wordPiece)

        // The sequence length counts [CLS] and [SEP]: the trainer cuts windows two shorter.
        let sequence = contextLength ?? min(128, model.config.maxPositions)
        guard sequence >= 3 && sequence <= model.config.maxPositions else {
            throw CommandError("--context-length must be in 3...\(model.config.maxPositions) for this BERT (it counts [CLS] and [SEP])")
        }
        let options = trainingOptions(contextLength: sequence - 2)
        // Documents joined by [SEP], as the windows are packed.
        func encode(_ texts: [String]) -> TokenStore {
            var ids: [Int] = []
            for (i, text) in texts.enumerated() {
                if i > 0 { ids.append(wordPiece.separator) }
                ids += wordPiece.encode(text)
            }
            return TokenStore(ids)
        }
        let split = splitBy == .tokens ? splitTokens(encode(texts), valFraction: valFraction)
            : splitCharacters(texts.joined(separator: "\n\n"), valFraction: valFraction) { encode([$0]) }
        var settings = runSettings(contextLength: sequence, dropout: model.config.hiddenDropout, processes: group?.size ?? 1)
        settings["--tokenizer"] = tokenizerPath.map(RunSettings.path)
        settings["--vocab-size"] = tokenizerPath == nil && `init` == nil ? "\(vocabSize)" : nil
        settings["--cased"] = cased ? "true" : nil
        try runTraining(objective: objective, split: split, options: options, output: output, group: group, resume: resume, json: json,
                        title: "llm train (masked LM)", saveEvery: saveEvery ?? evalEvery, keep: keep, settings: settings,
                        overlapCommunication: overlapCommunication, bucketBytes: Int(bucketMb * 1_048_576), zeroRedundancy: zero == 1,
                        precision: precision)
    }
}
