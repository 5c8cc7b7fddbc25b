// The demo's model, until the GPT lands: a character-level MLP language model in the style of
// Bengio et al. (2003). The previous `context` characters are embedded, concatenated, sent through one
// hidden layer (linear, layer norm, GELU) and mapped to logits over the next character. Every piece
// is a Tensors op with autograd, so training it exercises the whole engine: embedding gather and its
// scatter-add backward, GEMM, fused layer norm, GELU and cross-entropy.

import NN
import Tensors

struct CharacterMLP {
    let context: Int, vocabulary: Int, embeddingSize: Int, hiddenSize: Int
    let embedding: Tensor            // (V, E)
    let hiddenWeight, hiddenBias: Tensor  // (context * E, H), (H)
    let normWeight, normBias: Tensor      // (H), (H)
    let outputWeight, outputBias: Tensor  // (H, V), (V)

    init(context: Int, vocabulary: Int, embeddingSize: Int = 32, hiddenSize: Int = 512, generator: inout SeededGenerator) {
        self.context = context
        self.vocabulary = vocabulary
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        let fanIn = Float(context * embeddingSize)
        embedding = Tensor.normal([vocabulary, embeddingSize], generator: &generator, requiresGrad: true)
        hiddenWeight = Tensor.normal([context * embeddingSize, hiddenSize], std: 1 / fanIn.squareRoot(),
                                     generator: &generator, requiresGrad: true)
        hiddenBias = Tensor.zeros([hiddenSize], requiresGrad: true)
        normWeight = Tensor.ones([hiddenSize], requiresGrad: true)
        normBias = Tensor.zeros([hiddenSize], requiresGrad: true)
        outputWeight = Tensor.normal([hiddenSize, vocabulary], std: 0.02, generator: &generator, requiresGrad: true)
        outputBias = Tensor.zeros([vocabulary], requiresGrad: true)
    }

    var parameters: [Tensor] {
        [embedding, hiddenWeight, hiddenBias, normWeight, normBias, outputWeight, outputBias]
    }

    var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Next-character logits for `batch` contexts of `context` ids each (row-major).
    func logits(_ contexts: [Int], batch: Int) -> Tensor {
        let x = embedding.embedding(contexts, shape: [batch, context])   // (B, context, E)
            .reshaped([batch, context * embeddingSize])                   // (B, context * E)
        let h = (x.matmul(hiddenWeight) + hiddenBias)                    // (B, H)
            .layerNorm(weight: normWeight, bias: normBias).gelu()
        return h.matmul(outputWeight) + outputBias                        // (B, V)
    }
}
