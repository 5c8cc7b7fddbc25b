// swift-tools-version:6.0
// Coverage-guided fuzzing (libFuzzer) of every reader of outside input: LLMFuzz for the file formats,
// LLMFuzzHTTP for request bodies sent to the server. Not part of the main build: the programs get
// libFuzzer's driver from the toolchain's libclang_rt.fuzzer_no_main and need the coverage flags, which
// scripts/fuzz.sh passes when it builds them and runs each target.
import Foundation
import PackageDescription

// A path dependency is known by its directory's name, which is whatever the clone is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let llm = root.lastPathComponent

let package = Package(
    name: "llm-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"), // the router test client
    ],
    targets: [
        .target(name: "FuzzSupport"),
        // Every file format we read.
        .executableTarget(
            name: "LLMFuzz",
            dependencies: [
                "FuzzSupport",
                .product(name: "Models", package: llm), .product(name: "Inference", package: llm), .product(name: "Formats", package: llm),
                .product(name: "NN", package: llm), .product(name: "Tokenizers", package: llm),
                .product(name: "Training", package: llm), .product(name: "Tensors", package: llm),
            ]
        ),
        // HTTP request bodies, through the whole server (its HTTP packages take long to build instrumented).
        .executableTarget(
            name: "LLMFuzzHTTP",
            dependencies: [
                "FuzzSupport",
                .product(name: "Models", package: llm), .product(name: "Inference", package: llm), .product(name: "Formats", package: llm),
                .product(name: "NN", package: llm), .product(name: "Tokenizers", package: llm),
                .product(name: "Server", package: llm),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ],
    swiftLanguageModes: [.v5] // one thread, global state by design (libFuzzer calls in one at a time)
)
