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

    /// "bf16 (avx512_bf16 8x32)" or "bf16 (avx2 6x16, inputs rounded to bf16)": what the log and --json report.
    var description: String { "\(precision.rawValue) (\(precision.kernelName))" }

    /// The log's line on the products: their format and kernel, and a note when bf16 has no bf16 instructions to run on.
    var logLine: String {
        guard precision == .bf16, !MatmulPrecision.hasNativeBF16 else { return "matrix products in \(description)" }
        return "matrix products in \(description)\nnote: this CPU (or LLM_GEMM_ISA) offers no avx512_bf16, so the bf16 products run " +
            "on the fp32 kernels with their inputs rounded to bf16: bf16's results at fp32's speed"
    }

    /// Runs `body` with the products in the chosen format.
    func run<R>(_ body: () throws -> R) rethrows -> R {
        try Tensor.withMatmulPrecision(precision, body)
    }

    /// The fields --json summaries carry.
    var jsonFields: [String: Any] { ["precision": precision.rawValue, "gemm_kernel": precision.kernelName] }
}
