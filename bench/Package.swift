// swift-tools-version:6.0
// Benchmarks, kept in their own package so that the main package's build and CI never compile them.
// Run them through `bench/run NAME`, which also runs the references (NumPy/OpenBLAS, PyTorch, ...).
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder, which is whatever the clone is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "llm-bench",
    platforms: [.macOS(.v14)],
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "PeakFLOPS"),
        .executableTarget(
            name: "LLMBench",
            dependencies: [
                .product(name: "Tensors", package: root),
                .product(name: "NN", package: root),
                .product(name: "Tokenizers", package: root),
                .product(name: "Models", package: root),
                .product(name: "Inference", package: root),
                .product(name: "Formats", package: root),
                .product(name: "Training", package: root),
                "PeakFLOPS",
            ]
        ),
    ]
)
