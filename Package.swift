// swift-tools-version:6.0
// The package: a GPT toolkit built from first principles.
//
// Dependency direction (see DESIGN.md): CKernels ← Tensors ← (NN ← GPT ← Training) ← LLMCommand;
// GPT ← Inference ← Server ← LLMCommand; Tokenizers ← Hub ← LLMCommand. Only Server, Hub, the executable and their
// tests use HTTP packages.
// No target passes unsafe compiler flags, so the package stays usable as a dependency: the SIMD kernels in
// CKernels select their instruction set per function (`__attribute__((target(...)))`) at run time.
import PackageDescription

let package = Package(
    name: "llm",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .library(name: "GPT", targets: ["GPT"]),
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
        // The GPT model, generation, checkpoints (safetensors, Hugging Face GPT-2 layout).
        .target(name: "GPT", dependencies: ["CKernels", "Tensors", "NN", "Tokenizers"]),
        // The serving engine without HTTP: continuous batching over preallocated KV slots, streaming text
        // deltas (UTF-8 and stop-string safe), cancellation. Embeddable by any Swift program.
        .target(name: "Inference", dependencies: ["GPT", "Tensors", "Tokenizers"]),
        // HTTP only: the OpenAI-compatible API, server-sent events, metrics, in front of an Inference engine.
        .target(
            name: "Server",
            dependencies: [
                "Inference",
                "Tokenizers",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Datasets and loaders, the trainer, schedules, fine-tuning tasks.
        .target(name: "Training", dependencies: ["Tensors", "NN", "GPT", "Tokenizers"]),
        // The `llm` command line.
        .executableTarget(
            name: "LLMCommand",
            dependencies: [
                "Tensors",
                "NN",
                "Tokenizers",
                "Training",
                "GPT",
                "Inference",
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
        .testTarget(
            name: "HubTests",
            dependencies: [
                "Hub", "Tokenizers",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "TensorsTests",
            dependencies: ["Tensors", "CKernels"],
            resources: [.copy("Resources/tensor-goldens.json"), .copy("Resources/q8_0-blocks.json")]
        ),
        .testTarget(
            name: "NNTests",
            dependencies: ["NN", "Tensors", "Training", "Tokenizers", "GPT"],
            resources: [.copy("Resources")]
        ),
        .testTarget(
            name: "TokenizersTests",
            dependencies: ["Tokenizers"],
            resources: [.copy("Resources")]
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Inference", "GPT", "Tokenizers",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "InferenceTests",
            dependencies: ["Inference", "GPT", "Tensors", "Tokenizers"]
        ),
        .testTarget(
            name: "GPTTests",
            dependencies: ["GPT", "NN", "Tensors", "Tokenizers"],
            resources: [.copy("Resources")]
        ),
    ]
)
