// swift-tools-version:6.0
// The package: a large-language-model toolkit built from first principles. One concept per file, one home per
// concept; the targets, bottom to top (A ← B: B imports A):
//
//   CKernels ← Tensors ← NN ← Models ← Inference ← Formats ← Training ← LLMCommand (the `llm` executable)
//   Tokenizers (imports none of ours) ← Inference, Formats, Training, Server, Hub
//   Inference ← Server (HTTP) ← LLMCommand;   Hub (HTTP) ← LLMCommand
//
//   CKernels    C hot loops: GEMM micro-kernels (run-time ISA dispatch), fused row kernels, low-precision weight
//               kernels, the attention kernel, ggml's block types, the word2vec loop, the thread pool
//   Tensors     fp32 tensors with reverse-mode autograd, the seeded generator
//   Tokenizers  text to tokens and back: the book's regex tokenizers, tiktoken-exact BPE, tokenizer.json, training,
//               BERT's WordPiece
//   NN          building blocks: layers, positions, the attention family of chapter 3, GQA, SwiGLU, LoRA, AdamW
//   Models      the model families, one folder each (GPT/ for GPT-2 and the shared decoder, Llama/ for Llama 3 and
//               Qwen3, BERT/ for the encoder and its masked-LM head, Word2Vec/ for skip-gram and CBOW), LoRA on whole
//               models, word vectors, sentence pooling and PCA (Embeddings/)
//   Inference   the generation path: weights in low precision, KV slots, the inference forward pass, sampling,
//               generation, streaming text, the continuous-batching engine (no HTTP)
//   Formats     every file a model is read from or written to: safetensors, Hugging Face directories (models,
//               classifiers, LoRA adapters, low-precision, BERT, sentence-transformers), GGUF, TensorFlow checkpoints
//               and OpenAI's GPT-2 files, word2vec's vector files
//   Training    datasets and loaders, token files, the trainer and its checkpoints, fine-tuning, data parallelism
//   Server      the OpenAI-compatible HTTP API and the playground in front of an Inference engine
//   Hub         model repositories from the Hugging Face Hub into its cache
//
// Only Server, Hub, the executable and their tests use HTTP packages. No target passes unsafe compiler flags, so the
// package stays usable as a dependency: the SIMD kernels in CKernels select their instruction set per function
// (`__attribute__((target(...)))`) at run time. Each library target has a test target of the same name + Tests;
// EndToEndTests runs the built `llm` as a user does.
import PackageDescription

let package = Package(
    name: "llm",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Formats", targets: ["Formats"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "Inference", targets: ["Inference"]),
        .library(name: "Server", targets: ["Server"]),
        .library(name: "Hub", targets: ["Hub"]),
        .executable(name: "llm", targets: ["LLMCommand"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // HTTP serving (the Server target and the executable only; never the core libraries).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Tests of the server drive it over real sockets.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // Hot loops in C: GEMM micro-kernels with runtime CPU dispatch, fused row kernels, thread pool.
        .target(name: "CKernels"),
        // fp32 tensors with reverse-mode autograd.
        .target(name: "Tensors", dependencies: ["CKernels"]),
        // Text to tokens and back: the book's regex tokenizers, tiktoken-exact byte-level BPE, BPE training.
        // Depends on none of our other targets.
        .target(name: "Tokenizers", resources: [.copy("Resources")]),
        // Neural-network building blocks and optimizers.
        .target(name: "NN", dependencies: ["Tensors"]),
        // The model families: GPT-2 (and the decoder the Llama 3 / Qwen3 family shares), Llama 3 / Qwen3 configuration,
        // word2vec (its training loop is a CKernels kernel).
        .target(name: "Models", dependencies: ["CKernels", "Tensors", "NN"]),
        // The generation path without autograd: low-precision weights, KV slots, sampling, streaming text, the
        // serving engine (continuous batching, cancellation). Embeddable by any Swift program.
        .target(name: "Inference", dependencies: ["CKernels", "Tensors", "NN", "Models", "Tokenizers"]),
        // File formats: safetensors, Hugging Face directories, GGUF, TensorFlow checkpoints, OpenAI's GPT-2 files.
        .target(name: "Formats", dependencies: ["CKernels", "Tensors", "NN", "Models", "Inference", "Tokenizers"]),
        // HTTP only: the OpenAI-compatible API, server-sent events, metrics, in front of an Inference engine.
        .target(
            name: "Server",
            dependencies: [
                "Inference",
                "Models",
                "Tokenizers",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The playground page's own files, compiled into the binary (a copied `llm` still serves its page).
            resources: [
                .embedInCode("Resources/playground/index.html"),
                .embedInCode("Resources/playground/playground.css"),
                .embedInCode("Resources/playground/playground.js"),
            ]
        ),
        // Datasets and loaders, the trainer, schedules, fine-tuning tasks.
        .target(name: "Training", dependencies: ["Tensors", "NN", "Models", "Inference", "Formats", "Tokenizers"]),
        // The `llm` command line.
        .executableTarget(
            name: "LLMCommand",
            dependencies: [
                "Tensors",
                "NN",
                "Tokenizers",
                "Training",
                "Models",
                "Inference",
                "Formats",
                "Server",
                "Hub",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            resources: [.copy("Resources/the-verdict.txt")]
        ),
        // Model repositories from the Hugging Face Hub into its shared cache (HTTP: not a core library).
        .target(
            name: "Hub",
            dependencies: [
                "Tokenizers",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Tests mirror the sources: one target per library target. Model fixtures shared by several of them are in
        // Tests/Fixtures (read from the source tree), each target's own data in its Resources.
        .testTarget(name: "CKernelsTests", dependencies: ["CKernels", "Tensors"], resources: [.copy("Resources")]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"], resources: [.copy("Resources")]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"], resources: [.copy("Resources")]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensors"], resources: [.copy("Resources")]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Formats", "Inference", "NN", "Tensors", "Tokenizers"]),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "Models", "NN", "Tensors", "Tokenizers"]),
        .testTarget(
            name: "FormatsTests",
            dependencies: ["Formats", "Models", "Inference", "NN", "Tensors", "Tokenizers", "Training"],
            resources: [.copy("Resources")]
        ),
        .testTarget(
            name: "TrainingTests",
            dependencies: ["Training", "Models", "Formats", "Inference", "NN", "Tensors", "Tokenizers"],
            resources: [.copy("Resources")]
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Inference", "Models", "Tokenizers", "Formats",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The built `llm` run as a subprocess, as a user runs it: --help, bad input, exit codes, files left behind.
        .testTarget(name: "EndToEndTests"),
        .testTarget(
            name: "HubTests",
            dependencies: [
                "Hub", "Tokenizers",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)
