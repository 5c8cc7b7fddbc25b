// swift-tools-version:6.0
// Coverage-guided fuzzing (libFuzzer) of every reader of outside input. Not part of the main build: the
// harness defines LLVMFuzzerTestOneInput and gets its main() from libFuzzer, so it only links with
// `-sanitize=fuzzer`. Run it through scripts/fuzz.sh, which builds it and runs each target.
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
        .executableTarget(
            name: "LLMFuzz",
            dependencies: [
                .product(name: "GPT", package: llm), .product(name: "Tokenizers", package: llm),
                .product(name: "Training", package: llm), .product(name: "Tensors", package: llm),
                .product(name: "Inference", package: llm), .product(name: "Server", package: llm),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ],
    swiftLanguageModes: [.v5] // one thread, global state by design (libFuzzer calls in one at a time)
)
