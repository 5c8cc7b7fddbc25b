// The program: libFuzzer's driver (linked from the toolchain's libclang_rt.fuzzer_no_main, see
// scripts/fuzz.sh) calling the target named by LLM_FUZZ_TARGET with each input. (SwiftPM gives an
// executable its own entry point, so libFuzzer's `main` cannot be used; its driver function can.)

import Foundation

// LLM_FUZZ_SEEDS=DIR: write the seeds that need our writers (small GGUF files) into DIR and stop.
if let directory = ProcessInfo.processInfo.environment["LLM_FUZZ_SEEDS"] {
    writeSeeds(to: directory)
    exit(0)
}

let name = ProcessInfo.processInfo.environment["LLM_FUZZ_TARGET"] ?? ""
guard let target = targets[name] else {
    FileHandle.standardError.write("LLM_FUZZ_TARGET must be one of: \(targets.keys.sorted().joined(separator: " "))\n".data(using: .utf8)!)
    exit(2)
}
let chosen = target

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { bytes, size in
    chosen(bytes.map { Data(bytes: $0, count: size) } ?? Data())
    return 0
})
