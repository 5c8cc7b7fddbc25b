// BERT, the encoder: a tiny random BertModel saved by transformers (scripts/make_bert_goldens.py) loads here and
// computes transformers' last hidden states and pooled outputs for a padded batch and a sentence pair, with the
// inputs our WordPiece tokenizer makes; the same encoder inside BertForMaskedLM ("bert." names) loads the same.

import Foundation
import Formats
import Models
import Tensors
import Testing
import Tokenizers

@Suite("BERT")
struct BERTTests {
    struct Case: Decodable {
        let input_ids: [[Int]], token_type_ids: [[Int]], attention_mask: [[Int]]
        let last_hidden_state: [[[Double]]], pooler_output: [[Double]]
    }
    struct Reference: Decodable { let cases: [Case] }

    static let directory = fixtureDirectory("tiny-bert")

    @Test("hidden states and pooled outputs equal transformers' (padding masked, token types)")
    func equalsTransformers() throws {
        let model = try BERTCheckpoint.load(Self.directory)
        #expect(model.config.hiddenSize == 32 && model.layers.count == 2 && model.pooler != nil)
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: Self.directory + "/reference.json")))
        for c in reference.cases {
            let batch = c.input_ids.count
            let (hidden, pooled) = Autograd.withNoGrad {
                model(c.input_ids.flatMap { $0 }, typeIds: c.token_type_ids.flatMap { $0 }, attentionMask: c.attention_mask.flatMap { $0 }, batch: batch)
            }
            // Padded positions' states are computed but meaningless (transformers' too); compare the tokens.
            let t = c.input_ids[0].count, width = model.config.hiddenSize, ours = hidden.scalars
            var worst = 0.0
            for b in 0..<batch {
                for i in 0..<t where c.attention_mask[b][i] == 1 {
                    for k in 0..<width { worst = max(worst, abs(Double(ours[(b * t + i) * width + k]) - c.last_hidden_state[b][i][k])) }
                }
            }
            #expect(worst < 2e-5, "last hidden states: largest difference \(worst)")
            let pooledWorst = zip(pooled!.scalars.map(Double.init), c.pooler_output.flatMap { $0 }).map { abs($0 - $1) }.max()!
            #expect(pooledWorst < 2e-5, "pooled: largest difference \(pooledWorst)")
        }
    }

    @Test("our WordPiece tokenizer makes transformers' inputs")
    func tokenizerMakesTheInputs() throws {
        let tokenizer = try WordPieceTokenizer(vocabTxt: Self.directory + "/vocab.txt", lowercase: false)
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: Self.directory + "/reference.json")))
        let texts = ["The cat sat on the mat.", "A longer second sentence, with more words in it than the first!"]
        for (i, text) in texts.enumerated() {
            let row = reference.cases[0].input_ids[i], mask = reference.cases[0].attention_mask[i]
            #expect(tokenizer.encode(text).ids == Array(row.prefix(mask.reduce(0, +))))
        }
        let pair = tokenizer.encode("Is this the question?", pair: "And this, the answer.")
        #expect(pair.ids == reference.cases[1].input_ids[0] && pair.typeIds == reference.cases[1].token_type_ids[0])
    }

    @Test("BertForMaskedLM's \"bert.\" names load the same encoder")
    func prefixedNames() throws {
        let plain = try BERTCheckpoint.load(Self.directory), prefixed = try BERTCheckpoint.load(fixtureDirectory("tiny-bert-mlm"))
        let ids = [2, 100, 200, 300, 3]
        let a = Autograd.withNoGrad { plain(ids).hidden.scalars }, b = Autograd.withNoGrad { prefixed(ids).hidden.scalars }
        #expect(a == b)
    }

    @Test("a configuration whose heads do not divide the width is one clear error")
    func badConfig() {
        var c = BERTConfig(vocabSize: 10, hiddenSize: 30, layers: 1, heads: 4, intermediateSize: 8, maxPositions: 8)
        #expect(c.problem == "num_attention_heads (4) does not divide hidden_size (30)")
        c.heads = 3
        #expect(c.problem == nil)
    }
}

@Suite("BERT masked LM")
struct BERTMaskedLMTests {
    struct Reference: Decodable { let input_ids: [Int]; let labels: [Int]; let logits: [[Double]]; let loss: Double }

    @Test("logits and the loss over the labelled positions equal transformers' BertForMaskedLM")
    func equalsTransformers() throws {
        let directory = fixtureDirectory("tiny-bert-mlm")
        let model = try BERTCheckpoint.loadMaskedLM(directory)
        let r = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/reference.json")))
        let logits = Autograd.withNoGrad { model(r.input_ids).scalars }
        let worst = zip(logits.map(Double.init), r.logits.flatMap { $0 }).map { abs($0 - $1) }.max()!
        #expect(worst < 5e-5, "logits: largest difference \(worst)")
        let loss = Autograd.withNoGrad { model.loss(r.input_ids, labels: r.labels).item() }
        #expect(abs(Double(loss) - r.loss) < 1e-5, "loss \(loss) vs \(r.loss)")
        #expect(throws: GPTError.self) { try BERTCheckpoint.loadMaskedLM(fixtureDirectory("tiny-bert")) } // no head saved
    }

    @Test("scoring only the labelled positions gives the loss and the gradients of scoring every position")
    func maskedLossEqualsFullLoss() throws {
        let model = try BERTCheckpoint.loadMaskedLM(fixtureDirectory("tiny-bert-mlm"))
        model.eval() // no dropout, so both runs see the same network
        let ids = [2, 10, 20, 30, 40, 3, 2, 50, 60, 70, 80, 3]
        let labels = [-100, 11, -100, -100, 41, -100, -100, -100, 61, -100, 7, -100]
        func run(_ loss: () -> Tensor) -> (Float, [Float]) {
            model.zeroGrad()
            let l = loss()
            l.backward()
            return (l.item(), model.bert.embeddings.word.weight.grad!.scalars + model.transform.weight.grad!.scalars + model.bias.grad!.scalars
                        + model.bert.layers[1].query.weight.grad!.scalars)
        }
        let (full, g1) = run { model.loss(ids, labels: labels, batch: 2) }
        let (masked, g2) = run { model.maskedLoss(ids, labels: labels, batch: 2) }
        #expect(abs(full - masked) < 1e-6 * max(1, abs(full)), "\(full) vs \(masked)")
        let scale = max(1, g1.map(abs).max()!)
        #expect(zip(g1, g2).map { abs($0 - $1) }.max()! < 1e-5 * scale)
    }
}

@Suite("Sentence embeddings")
struct SentenceEmbeddingTests {
    @Test("mean pooling of a BERT directory equals the masked mean of transformers' states; batching changes nothing")
    func meanPooling() throws {
        let directory = fixtureDirectory("tiny-bert")
        let embedder = try SentenceTransformer(directory: directory) // no modules.json: mean pooling, not normalised
        #expect(embedder.pooling == .mean && !embedder.normalize && embedder.maxSequenceLength == 64)
        let reference = try JSONDecoder().decode(BERTTests.Reference.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/reference.json")))
        let texts = ["The cat sat on the mat.", "A longer second sentence, with more words in it than the first!"]
        let together = embedder.embed(texts), alone = texts.map { embedder.embed([$0])[0] }
        let c = reference.cases[0]
        for (b, vector) in together.enumerated() {
            let rows = c.attention_mask[b].indices.filter { c.attention_mask[b][$0] == 1 }
            let expected = (0..<embedder.dimension).map { k in rows.reduce(0.0) { $0 + c.last_hidden_state[b][$1][k] } / Double(rows.count) }
            #expect(zip(vector.map(Double.init), expected).map { abs($0 - $1) }.max()! < 2e-5)
            #expect(zip(vector, alone[b]).map { abs($0 - $1) }.max()! < 1e-5, "padding in a batch does not change a text's vector")
        }
        let unit = SentencePooling.cls.pool([3, 4, 0, 0], mask: [1, 0], batch: 1, width: 2, normalize: true)
        #expect(unit == [[0.6, 0.8]])
    }
}

@Suite("BERT attention paths")
struct BERTAttentionPathTests {
    @Test("right-padded batches on the fused kernel equal the composed ops with a mask bias: states and gradients")
    func fusedEqualsComposed() throws {
        let model = try BERTCheckpoint.load(fixtureDirectory("tiny-bert"))
        let ids = [2, 10, 20, 30, 3, 0, 0, 2, 40, 50, 60, 70, 80, 3], mask = [1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1]
        func run(fused: Bool) -> ([Float], [Float]) {
            model.fusedAttention = fused
            model.zeroGrad()
            let hidden = model(ids, attentionMask: mask, batch: 2).hidden
            (hidden * hidden).sum().backward()
            return (hidden.scalars, model.layers[0].query.weight.grad!.scalars + model.embeddings.word.weight.grad!.scalars)
        }
        let (a, ga) = run(fused: true), (b, gb) = run(fused: false)
        #expect(zip(a, b).map { abs($0 - $1) }.max()! < 1e-5)
        #expect(zip(ga, gb).map { abs($0 - $1) }.max()! < 1e-4 * max(1, gb.map(abs).max()!))
        model.fusedAttention = true
    }
}

@Suite("Masked language modelling")
struct MaskedLanguageModelingTests {
    @Test("15 % chosen, of them 80 % [MASK] / 10 % random / 10 % kept; specials never; the same seed the same masks")
    func proportions() {
        let mlm = MaskedLanguageModeling(maskToken: 4, vocabularySize: 3000, special: [2, 3, 0])
        var ids: [Int] = []
        for s in 0..<2000 { ids += [2] + (0..<48).map { 100 + ($0 * 7 + s) % 2800 } + [3] }
        var g = SeededGenerator(seed: 1)
        let (inputs, labels) = mlm.mask(ids, generator: &g)
        let chosen = labels.indices.filter { labels[$0] != -100 }
        let content = ids.filter { ![2, 3, 0].contains($0) }.count
        #expect(abs(Double(chosen.count) / Double(content) - 0.15) < 0.005)
        #expect(chosen.allSatisfy { labels[$0] == ids[$0] && ![2, 3].contains(ids[$0]) })
        let masked = chosen.filter { inputs[$0] == 4 }.count, kept = chosen.filter { inputs[$0] == ids[$0] }.count
        #expect(abs(Double(masked) / Double(chosen.count) - 0.8) < 0.02)
        #expect(abs(Double(kept) / Double(chosen.count) - 0.1) < 0.02) // (a random draw of the same token counts as kept)
        #expect(labels.indices.filter { labels[$0] == -100 }.allSatisfy { inputs[$0] == ids[$0] })
        var again = SeededGenerator(seed: 1), other = SeededGenerator(seed: 2)
        #expect(mlm.mask(ids, generator: &again).inputs == inputs)
        #expect(mlm.mask(ids, generator: &other).inputs != inputs)
    }
}

@Suite("BERT directories written")
struct BERTSaveTests {
    @Test("a saved BertForMaskedLM reads back with the same logits, under transformers' names and shapes")
    func roundTrip() throws {
        let model = try BERTCheckpoint.loadMaskedLM(fixtureDirectory("tiny-bert-mlm"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("llm-bert-save-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try BERTCheckpoint.save(model, to: directory)
        let back = try BERTCheckpoint.loadMaskedLM(directory)
        let ids = [2, 100, 4, 300, 3]
        #expect(Autograd.withNoGrad { back(ids).scalars } == Autograd.withNoGrad { model(ids).scalars })
        // The same tensor names and shapes as transformers' own file.
        let theirs = try Safetensors.read(fixtureDirectory("tiny-bert-mlm") + "/model.safetensors")
        let ours = try Safetensors.read(directory + "/model.safetensors")
        #expect(Set(ours.entries.keys) == Set(theirs.entries.keys))
        for (name, entry) in theirs.entries { #expect(ours.entries[name]?.shape == entry.shape, "\(name)") }
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/config.json"))) as? [String: Any]
        #expect(config?["model_type"] as? String == "bert" && (config?["architectures"] as? [String]) == ["BertForMaskedLM"])
    }
}

@Suite("BERT classifier")
struct BERTClassifierTests {
    struct Reference: Decodable {
        let input_ids: [[Int]]; let attention_mask: [[Int]]; let labels: [Int]
        let logits: [[Double]]; let loss: Double; let gradients: [String: [[Double]]]
    }

    @Test("logits, loss and gradients equal transformers' BertForSequenceClassification on a padded batch; saved, it reads back")
    func equalsTransformers() throws {
        let directory = fixtureDirectory("tiny-bert-classifier")
        let model = try BERTCheckpoint.loadClassifier(directory)
        #expect(model.labels == ["negative", "neutral", "positive"])
        let r = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/reference.json")))
        let lengths = r.attention_mask.map { $0.reduce(0, +) }
        let logits = model(r.input_ids.flatMap { $0 }, batch: 3, lengths: lengths)
        let worst = zip(logits.scalars.map(Double.init), r.logits.flatMap { $0 }).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5, "logits: largest difference \(worst)")
        let loss = logits.crossEntropy(targets: r.labels)
        #expect(abs(Double(loss.item()) - r.loss) < 1e-5)
        loss.backward()
        // Ours are (in, out); transformers' nn.Linear (out, in).
        for (name, weight) in [("classifier.weight", model.classifier.weight), ("bert.pooler.dense.weight", model.bert.pooler!.weight),
                               ("bert.encoder.layer.0.attention.self.query.weight", model.bert.layers[0].query.weight)] {
            let reference = r.gradients[name]!, ours = weight.grad!.transposed().scalars.map(Double.init)
            let scale = max(1e-3, reference.flatMap { $0 }.map(abs).max()!)
            #expect(zip(ours, reference.flatMap { $0 }).map { abs($0 - $1) }.max()! < 1e-4 * scale, "\(name)")
        }
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("bert-classifier-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try BERTCheckpoint.save(model, to: copy)
        let back = try BERTCheckpoint.loadClassifier(copy)
        #expect(back.labels == model.labels)
        #expect(Autograd.withNoGrad { back(r.input_ids.flatMap { $0 }, batch: 3, lengths: lengths) }.scalars == logits.scalars)
    }

    @Test("an encoder saved without a pooler gets a seeded fresh one; a directory without labels is one clear error")
    func poolerAndLabels() throws {
        let mlm = fixtureDirectory("tiny-bert-mlm")
        let a = try BERTCheckpoint.load(mlm, pooler: true, seed: 5), b = try BERTCheckpoint.load(mlm, pooler: true, seed: 5)
        #expect(a.pooler != nil && a.pooler!.weight.scalars == b.pooler!.weight.scalars)
        #expect(throws: GPTError.self) { try BERTCheckpoint.loadClassifier(mlm) }
    }

    @Test("mean pooling reads the average of each text's token states (padding left out); saved without a pooler, it reads back")
    func meanPooling() throws {
        let bert = try BERTCheckpoint.load(fixtureDirectory("tiny-bert-mlm"), pooler: false)
        let model = BERTForSequenceClassification(bert: bert, labels: ["a", "b"], dropout: 0, seed: 3, pooling: .mean)
        model.eval()
        let ids = [2, 10, 20, 30, 3, 0, 2, 40, 3, 0, 0, 0], lengths = [5, 3]
        let logits = Autograd.withNoGrad { model(ids, batch: 2, lengths: lengths) }.scalars
        // The same, text by text and without padding, averaged here by hand.
        let c = bert.config.hiddenSize
        for (row, n) in lengths.enumerated() {
            let hidden = Autograd.withNoGrad { bert(Array(ids[(row * 6)..<(row * 6 + n)])).hidden }.scalars
            let mean = (0..<c).map { k in (0..<n).reduce(Float(0)) { $0 + hidden[$1 * c + k] } / Float(n) }
            let expected = Autograd.withNoGrad { model.classifier(Tensor(mean, shape: [1, c])) }.scalars
            for j in 0..<2 { #expect(abs(logits[row * 2 + j] - expected[j]) < 1e-5, "row \(row) class \(j)") }
        }
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("bert-mean-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try BERTCheckpoint.save(model, to: copy)
        let names = try Safetensors.read(copy + "/model.safetensors").entries.keys
        #expect(!names.contains { $0.contains("pooler") }, "no pooler is written, so transformers says it has none")
        let back = try BERTCheckpoint.loadClassifier(copy)
        #expect(back.pooling == .mean)
        #expect(Autograd.withNoGrad { back(ids, batch: 2, lengths: lengths) }.scalars == logits)
    }
}

@Suite("BERT attention pictures")
struct BERTAttentionWeightsTests {
    @Test("every row is a distribution over the whole text, the tokens after it included (no causal mask)")
    func rowsCoverTheWholeText() throws {
        let model = try BERTCheckpoint.load(fixtureDirectory("tiny-bert"))
        let ids = [2, 10, 20, 30, 40, 3]
        let w = model.attentionWeights(ids, layer: 1)
        #expect(w.shape == [4, 6, 6])
        let v = w.scalars
        for row in 0..<(4 * 6) { #expect(abs(v[(row * 6)..<((row + 1) * 6)].reduce(0, +) - 1) < 1e-5) }
        #expect(v[1] > 0, "[CLS] attends to the token after it")
    }
}
