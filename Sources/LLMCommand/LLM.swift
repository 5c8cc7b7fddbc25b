// The `llm` command: one subcommand per file.

import ArgumentParser
import Foundation
import Training

@main
struct LLM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llm",
        abstract: "Build, train and run GPT-style language models from first principles.",
        discussion: "Start with `llm demo`: it trains a small model on an embedded text and generates from it.",
        subcommands: [Demo.self, Prepare.self, Train.self, Generate.self, Eval.self, Quantize.self, Convert.self, Download.self, Serve.self, Finetune.self, Classify.self, Tokenize.self, Detokenize.self, TrainTokenizer.self,
                      Attention.self, Embeddings.self, Word2Vec.self, FillMask.self, Embed.self, Seq2Seq.self, Index.self, Ask.self]
    )

    /// Runs the command; a file-system error from Foundation becomes one readable line ("x: permission
    /// denied") instead of its internal dictionary.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            OutputDirectory.removeCreatedIfEmpty()
            let domain = (error as NSError).domain
            let error = domain == NSCocoaErrorDomain || domain == NSPOSIXErrorDomain ? CommandError(FileProblem.describe(error)) : error
            if let mpi = OpenMPI.current { // one rank failed: the whole job ends now, not at the next collective
                printError("Error (rank \(mpi.rank)): \(error)")
                mpi.abort(1)
            }
            exit(withError: error)
        }
    }
}
