// Checks an output directory before any work is done, so a run never trains for an hour and then fails
// to save: it must be creatable and writable, and must not be (or be inside) a directory the command
// reads from.

import Foundation
import Training

enum OutputDirectory {
    /// Directories `prepare` created, deepest first: a command that fails removes those still empty, so a bad
    /// input leaves nothing behind.
    nonisolated(unsafe) private static var createdDirectories: [String] = []

    /// Removes the directories `prepare` created that are still empty (after a failed command).
    static func removeCreatedIfEmpty() {
        let fm = FileManager.default
        for directory in createdDirectories where (try? fm.contentsOfDirectory(atPath: directory))?.isEmpty == true {
            try? fm.removeItem(atPath: directory)
        }
    }

    /// Creates `path` if needed and proves it writable; `inputs` are the paths the command reads.
    static func prepare(_ path: String, inputs: [String] = []) throws {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: input, isDirectory: &isDirectory) else { continue }
            let source = URL(fileURLWithPath: input).standardizedFileURL.resolvingSymlinksInPath().path
            if target == source || (isDirectory.boolValue && target.hasPrefix(source + "/")) {
                throw CommandError("--output \(path) is \(target == source ? "" : "inside ")\(input), which this command reads; choose another directory")
            }
        }
        // The first ancestor that exists must be a directory (mkdir on /etc/passwd/x says only "error 512").
        var existing = URL(fileURLWithPath: path).standardizedFileURL
        while !fm.fileExists(atPath: existing.path) && existing.path != "/" { existing.deleteLastPathComponent() }
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: existing.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw CommandError("--output \(path): \(existing.path) is a file, not a directory")
        }
        do {
            var created: [String] = [], missing = URL(fileURLWithPath: path).standardizedFileURL
            while !fm.fileExists(atPath: missing.path) && missing.path != "/" { created.append(missing.path); missing.deleteLastPathComponent() }
            try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
            createdDirectories += created
            let probe = (path as NSString).appendingPathComponent(".llm-write-test-\(getpid())")
            try Data("ok".utf8).write(to: URL(fileURLWithPath: probe))
            try fm.removeItem(atPath: probe)
        } catch {
            throw CommandError("--output \(path) is not writable: \(FileProblem.describe(error))")
        }
    }
}
