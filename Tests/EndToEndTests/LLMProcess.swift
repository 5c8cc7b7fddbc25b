// Running the built `llm` executable as a user does: a subprocess with arguments (and standard input), its exit
// status, standard output and standard error. `swift test` builds the executable beside the test bundle.

import Foundation

struct LLMRun {
    let status: Int32
    let stdout: String
    let stderr: String
    /// Standard error without empty lines.
    var errorLines: [Substring] { stderr.split(separator: "\n") }
}

enum LLMProcess {
    /// The `llm` binary of this build: next to the test runner on Linux, next to the .xctest bundle on macOS.
    static let executable: URL = {
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        candidates += Bundle.allBundles.map(\.bundleURL).filter { $0.pathExtension == "xctest" }.map { $0.deletingLastPathComponent() }
        candidates.append(Bundle.main.bundleURL)
        for directory in candidates {
            let url = directory.appendingPathComponent("llm")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        fatalError("the llm executable is not beside the tests in \(candidates.map(\.path)); build it first (swift build)")
    }()

    /// Runs `llm arguments...` in `directory` (default: a scratch directory) and waits for it.
    static func run(_ arguments: [String], input: String? = nil, in directory: String? = nil,
                    environment: [String: String] = [:]) throws -> LLMRun {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe(), inp = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inp
        try process.run()
        // Read both pipes while the process runs, so a full pipe never blocks it.
        nonisolated(unsafe) var outData = Data(), errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
        try inp.fileHandleForWriting.close()
        process.waitUntilExit()
        group.wait()
        return LLMRun(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// A fresh empty directory, removed by the caller.
    static func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llm-e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Every file and directory under `directory`, relative to it, sorted.
    static func contents(_ directory: String) -> [String] {
        (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? []).sorted()
    }

    /// The path of a fixture in Tests/Fixtures.
    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(name).path
    }
}
