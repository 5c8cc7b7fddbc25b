// --precision for the commands that train (train, train-mlm, finetune, demo): the number format of the matrix
// products. bf16 rounds their inputs to bfloat16 and sums in fp32, as PyTorch's CPU autocast does; weights,
// gradients, AdamW, norms, softmax and the loss stay fp32, and so do checkpoints (a run resumes in either).

import ArgumentParser
import Tensors

extension MatmulPrecision: ExpressibleByArgument {}

struct PrecisionOption: ParsableArguments {
    @Option(help: ArgumentHelp("Number format of the matrix products: fp32, or bf16 (inputs rounded to bfloat16, fp32 sums; weights, optimizer, norms, loss and checkpoints stay fp32).",
                               valueName: "fp32|bf16"))
    var precision: MatmulPrecision = .fp32

    /// "bf16 (avx512_bf16 8x32)": what the log and --json report.
    var description: String { "\(precision.rawValue) (\(precision.kernelName))" }

    /// Runs `body` with the products in the chosen format, saying once (on stderr, when `announce`) when bf16
    /// has no bf16 instructions to run on.
    func run<R>(announce: Bool = true, _ body: () throws -> R) throws -> R {
        if precision == .bf16, !MatmulPrecision.hasNativeBF16, announce {
            printError("note: this CPU (or LLM_GEMM_ISA) offers no avx512_bf16: the bf16 products run on \(precision.kernelName), " +
                       "with bf16's rounding but no faster than fp32")
        }
        return try Tensor.withMatmulPrecision(precision, body)
    }

    /// The fields --json summaries carry.
    var jsonFields: [String: Any] { ["precision": precision.rawValue, "gemm_kernel": precision.kernelName] }
}
