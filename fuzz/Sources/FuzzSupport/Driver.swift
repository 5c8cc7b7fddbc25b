// What both fuzzing programs share: libFuzzer's driver (linked from the toolchain's
// libclang_rt.fuzzer_no_main, see scripts/fuzz.sh) calling the target named by LLM_FUZZ_TARGET with each
// input (SwiftPM gives an executable its own entry point, so libFuzzer's `main` cannot be used; its driver
// function can), and a scratch directory for readers that take paths.

import Foundation

/// Runs libFuzzer over the target LLM_FUZZ_TARGET names; never returns.
public func runFuzzer(_ targets: [String: (Data) -> Void]) -> Never {
    let name = ProcessInfo.processInfo.environment["LLM_FUZZ_TARGET"] ?? ""
    guard let target = targets[name] else {
        FileHandle.standardError.write("LLM_FUZZ_TARGET must be one of: \(targets.keys.sorted().joined(separator: " "))\n".data(using: .utf8)!)
        exit(2)
    }
    chosen = target
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv) { bytes, size in
        chosen!(bytes.map { Data(bytes: $0, count: size) } ?? Data())
        return 0
    })
}

nonisolated(unsafe) private var chosen: ((Data) -> Void)?

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                                 _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// A private scratch directory for this process (a RAM disk where there is one).
public let scratch: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let path = "\(base)/llm-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()

/// The bytes as a new file (a new inode: a reader's mapping of the previous input is never truncated
/// under it, which would be a SIGBUS of the harness's making).
public func file(_ name: String, _ bytes: some DataProtocol) -> String {
    let path = scratch + "/" + name
    unlink(path)
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
}

/// An input made of two files, split at its first NUL byte.
public func halves(_ data: Data) -> (Data, Data) {
    guard let cut = data.firstIndex(of: 0) else { return (data, Data()) }
    return (data[data.startIndex..<cut], data[(cut + 1)...])
}
