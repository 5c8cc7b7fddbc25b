// The `llm` command: one subcommand per file.

import ArgumentParser

@main
struct LLM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llm",
        abstract: "Build, train and run GPT-style language models from first principles.",
        discussion: "Start with `llm demo`: it trains a small model on an embedded text and generates from it.",
        subcommands: [Demo.self, Prepare.self, Train.self, Generate.self, Eval.self, Quantize.self, Serve.self, Finetune.self, Classify.self, Tokenize.self, Detokenize.self, TrainTokenizer.self,
                      Attention.self, Embeddings.self]
    )
}
