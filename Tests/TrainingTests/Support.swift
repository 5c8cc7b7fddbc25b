// Shared helpers for the training tests.

import Models
import NN

extension TransformerBlock {
    /// GPT-2's pieces of a GPT-2-family block (tests reach into them).
    var gpt2FeedForward: FeedForward { mlp as! FeedForward }
    var gpt2Attention: MultiHeadAttention { attention as! MultiHeadAttention }
}
