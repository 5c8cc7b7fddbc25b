// BERT (Devlin et al. 2019), the encoder the notes set beside GPT: the same blocks, but every token attends to
// every other (no causal mask; only padding is masked), layer norm after each residual sum (post-norm, as the
// original Transformer), and a pooler that reads the [CLS] token.
//
//   x = LayerNorm(word[id] + position[t] + tokenType[type]);  dropout
//   per layer:  x = LayerNorm(x + dropout(W_o · attention(x)))       bidirectional, padding masked (fused kernel)
//               x = LayerNorm(x + dropout(W_2 · gelu(W_1 · x)))
//   pooled = tanh(W_p · x[CLS])
//
// Names and shapes are Hugging Face's BertModel (embeddings.word_embeddings, encoder.layer.N.attention.self.query,
// …), so checkpoints load as they are (Formats/HuggingFace/BERTCheckpoint.swift).

import Foundation
import NN
import Tensors

public final class BERTEmbeddings: Module {
    public let word: Embedding, position: Embedding, tokenType: Embedding
    public let norm: LayerNorm
    public let dropout: Dropout

    init(_ c: BERTConfig, generator: inout SeededGenerator) {
        word = Embedding(c.vocabSize, c.hiddenSize, std: 0.02, generator: &generator)
        position = Embedding(c.maxPositions, c.hiddenSize, std: 0.02, generator: &generator)
        tokenType = Embedding(c.typeVocabSize, c.hiddenSize, std: 0.02, generator: &generator)
        norm = LayerNorm(c.hiddenSize, eps: c.layerNormEps)
        dropout = Dropout(c.hiddenDropout, seed: generator.next())
    }

    override public var children: [(String, Module)] {
        [("word_embeddings", word), ("position_embeddings", position), ("token_type_embeddings", tokenType), ("LayerNorm", norm),
         ("dropout", dropout)]
    }

    func callAsFunction(_ ids: [Int], typeIds: [Int], batch: Int) -> Tensor {
        let t = ids.count / batch
        let positions = (0..<(batch * t)).map { $0 % t }
        let x = word(ids, shape: [batch, t]) + position(positions, shape: [batch, t]) + tokenType(typeIds, shape: [batch, t])
        return dropout(norm(x))
    }
}

public final class BERTLayer: Module {
    // var: LoRA wraps them (Models/LoRA/LoRAAdaptable.swift).
    public internal(set) var query: Linear, key: Linear, value: Linear, attentionOutput: Linear
    public let attentionNorm: LayerNorm
    public internal(set) var intermediate: Linear, output: Linear
    public let outputNorm: LayerNorm
    let heads: Int, activation: String
    let attentionDropout: Dropout, hiddenDropout: Dropout, outputDropout: Dropout

    init(_ c: BERTConfig, generator: inout SeededGenerator) {
        let h = c.hiddenSize
        query = Linear(h, h, std: 0.02, generator: &generator)
        key = Linear(h, h, std: 0.02, generator: &generator)
        value = Linear(h, h, std: 0.02, generator: &generator)
        attentionOutput = Linear(h, h, std: 0.02, generator: &generator)
        attentionNorm = LayerNorm(h, eps: c.layerNormEps)
        intermediate = Linear(h, c.intermediateSize, std: 0.02, generator: &generator)
        output = Linear(c.intermediateSize, h, std: 0.02, generator: &generator)
        outputNorm = LayerNorm(h, eps: c.layerNormEps)
        heads = c.heads
        activation = c.hiddenAct
        attentionDropout = Dropout(c.attentionDropout, seed: generator.next())
        hiddenDropout = Dropout(c.hiddenDropout, seed: generator.next())
        outputDropout = Dropout(c.hiddenDropout, seed: generator.next())
    }

    override public var children: [(String, Module)] {
        [("attention.self.query", query), ("attention.self.key", key), ("attention.self.value", value),
         ("attention.output.dense", attentionOutput), ("attention.output.LayerNorm", attentionNorm),
         ("intermediate.dense", intermediate), ("output.dense", output), ("output.LayerNorm", outputNorm),
         ("attention_dropout", attentionDropout), ("hidden_dropout", hiddenDropout), ("output_dropout", outputDropout)]
    }

    /// How padding is masked: per-row key lengths (each row's tokens first, then padding: the fused kernel, which
    /// skips the padded keys), or a bias (B, 1, 1, T) of 0 where a key is a token and a large negative number
    /// where it is padding (the composed ops, for any mask).
    enum Padding { case keyLengths([Int]), bias(Tensor) }

    /// x (B, T, C).
    func callAsFunction(_ x: Tensor, padding: Padding) -> Tensor {
        let b = x.shape[0], t = x.shape[1], c = x.shape[2], d = c / heads
        func split(_ y: Tensor) -> Tensor { y.reshaped([b, t, heads, d]).permuted([0, 2, 1, 3]) } // (B, H, T, d)
        let q = split(query(x)), k = split(key(x)), v = split(value(x))
        let perHead: Tensor
        switch padding {
        case .keyLengths(let lengths):
            let (p, dropoutKey) = isTraining && attentionDropout.p > 0 ? (attentionDropout.p, attentionDropout.nextKey()) : (0, 0)
            perHead = Tensor.paddedAttention(q, k, v, keyLengths: lengths, dropout: p, dropoutKey: dropoutKey,
                                             dropoutFirstRow: attentionDropout.firstRow) // data-parallel: this process's rows
        case .bias(let bias):
            let scores = q.matmul(k.transposed()) * (1 / Float(d).squareRoot()) + bias
            perHead = attentionDropout(scores.softmax()).matmul(v)
        }
        let context = perHead.permuted([0, 2, 1, 3]).reshaped([b, t, c])
        let attended = attentionNorm(x + hiddenDropout(attentionOutput(context)))
        let inner = intermediate(attended)
        let activated = activation == "gelu" ? inner.exactGELU() : activation == "relu" ? inner.relu() : inner.gelu()
        return outputNorm(attended + outputDropout(output(activated)))
    }

    /// softmax(q · kᵀ / √d) per head for one unpadded text x (1, T, C): (H, T, T), every row over every column.
    func attentionProbabilities(_ x: Tensor) -> Tensor {
        let t = x.shape[1], d = x.shape[2] / heads
        func split(_ y: Tensor) -> Tensor { y.reshaped([1, t, heads, d]).permuted([0, 2, 1, 3]) }
        return (split(query(x)).matmul(split(key(x)).transposed()) * (1 / Float(d).squareRoot())).softmax().reshaped([heads, t, t])
    }
}

public final class BERTModel: Module {
    public let config: BERTConfig
    public let embeddings: BERTEmbeddings
    public let layers: [BERTLayer]
    /// The pooler: tanh(W · hidden state of [CLS]); nil in checkpoints saved without it.
    public let pooler: Linear?
    /// Right-padded batches run attention on the fused kernel; false runs the composed ops (the tests compare).
    public var fusedAttention = true

    public init(_ config: BERTConfig, seed: UInt64 = 0, pooler: Bool = true) throws {
        if let problem = config.problem { throw GPTError(description: "this BERT configuration cannot make a model: \(problem)") }
        var g = SeededGenerator(seed: seed)
        self.config = config
        embeddings = BERTEmbeddings(config, generator: &g)
        layers = (0..<config.layers).map { _ in BERTLayer(config, generator: &g) }
        self.pooler = pooler ? Linear(config.hiddenSize, config.hiddenSize, std: 0.02, generator: &g) : nil
    }

    override public var children: [(String, Module)] {
        [("embeddings", embeddings)] + layers.enumerated().map { ("encoder.layer.\($0.offset)", $0.element) }
            + (pooler.map { [("pooler.dense", $0)] } ?? [])
    }

    /// Token ids (B × T, row after row), their token types (default 0) and attention mask (1 for a token, 0 for
    /// padding; default all 1). Returns the last hidden states (B, T, C) and, with a pooler, the pooled (B, C).
    public func callAsFunction(_ ids: [Int], typeIds: [Int]? = nil, attentionMask: [Int]? = nil,
                               batch: Int = 1) -> (hidden: Tensor, pooled: Tensor?) {
        precondition(batch >= 1 && ids.count % batch == 0, "\(ids.count) ids do not make \(batch) rows")
        let t = ids.count / batch
        precondition(t <= config.maxPositions, "\(t) tokens, but BERT's positions go to \(config.maxPositions)")
        let mask = attentionMask ?? [Int](repeating: 1, count: ids.count)
        // Right padding (every row's tokens, then its padding) runs on the fused kernel; any other mask as a bias of
        // -10,000 in place of minus infinity (as the original BERT): exp of it is 0 in fp32 beside any real score.
        let lengths = (0..<batch).map { r in mask[(r * t)..<((r + 1) * t)].prefix { $0 != 0 }.count }
        let rightPadded = (0..<batch).allSatisfy { r in lengths[r] >= 1 && mask[(r * t + lengths[r])..<((r + 1) * t)].allSatisfy { $0 == 0 } }
        let padding: BERTLayer.Padding = rightPadded && fusedAttention
            ? .keyLengths(lengths) : .bias(Tensor(mask.map { $0 == 0 ? Float(-10_000) : 0 }, shape: [batch, 1, 1, t]))
        var x = embeddings(ids, typeIds: typeIds ?? [Int](repeating: 0, count: ids.count), batch: batch)
        for layer in layers { x = layer(x, padding: padding) }
        let pooled = pooler.map { p in p(x.narrow(1, start: 0, length: 1).reshaped([batch, config.hiddenSize])).tanh() }
        return (x, pooled)
    }

    /// The attention probabilities (H, T, T) of layer `index` over one text ([CLS] … [SEP]), in evaluation mode:
    /// unlike a GPT's, no causal mask, so every token's row spreads over the tokens after it too.
    public func attentionWeights(_ ids: [Int], layer index: Int) -> Tensor {
        precondition(index >= 0 && index < layers.count, "layer \(index) outside 0..<\(layers.count)")
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        return Autograd.withNoGrad {
            var x = embeddings(ids, typeIds: [Int](repeating: 0, count: ids.count), batch: 1)
            for layer in layers.prefix(index) { x = layer(x, padding: .keyLengths([ids.count])) }
            return layers[index].attentionProbabilities(x)
        }
    }
}
