// The checkpoints of a training run, each one consistent set that appears whole or not at all.
//
// A run directory (`llm train --output DIR`) keeps its checkpoints as
//   DIR/checkpoints/step-00000050/   model, optimizer state, trainer state (with the data order's position)
//   DIR/checkpoints/step-00000100/
// A new checkpoint is written into DIR/checkpoints/.partial-step-N, every file flushed to the disk, then
// the directory is renamed to step-N: rename is atomic, so a kill (or a full disk) at any moment leaves
// either the complete new set or none of it, and the previous checkpoints are never touched in place. Only
// then are the oldest pruned to the `keep` newest (renamed away before they are deleted). `newest()` sees
// only final names, so `--resume` always starts from a complete set.

import Foundation

public struct RunCheckpoints: Sendable {
    public let runDirectory: String
    public var root: String { (runDirectory as NSString).appendingPathComponent("checkpoints") }

    public init(runDirectory: String) { self.runDirectory = runDirectory }

    /// Complete checkpoints, oldest first: (step, directory).
    public func complete() -> [(step: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("step-"), let step = Int(name.dropFirst(5)), step >= 0 else { return nil }
            return (step, (root as NSString).appendingPathComponent(name))
        }.sorted { $0.0 < $1.0 }
    }

    /// The newest complete checkpoint.
    public func newest() -> (step: Int, path: String)? { complete().last }

    /// Writes checkpoint `step`: `write` fills the directory it is given; then everything is flushed, the
    /// directory takes its final name, and all but the `keep` newest checkpoints are removed. Throws a
    /// sentence (the disk is full, the directory is not writable...) and leaves the earlier ones intact.
    @discardableResult
    public func save(step: Int, keep: Int, _ write: (String) throws -> Void) throws -> String {
        let fm = FileManager.default
        let name = String(format: "step-%08d", step)
        let final = (root as NSString).appendingPathComponent(name)
        let partial = (root as NSString).appendingPathComponent(".partial-" + name)
        do {
            try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
            try? fm.removeItem(atPath: partial) // left by a run killed while writing
            try fm.createDirectory(atPath: partial, withIntermediateDirectories: false)
            try write(partial)
            for file in try fm.contentsOfDirectory(atPath: partial) {
                try flush((partial as NSString).appendingPathComponent(file))
            }
            try flush(partial)
            if fm.fileExists(atPath: final) { // the same step saved again (a resumed run that stopped at once)
                let old = (root as NSString).appendingPathComponent(".old-" + name)
                try? fm.removeItem(atPath: old)
                try fm.moveItem(atPath: final, toPath: old)
                try fm.moveItem(atPath: partial, toPath: final)
                try? fm.removeItem(atPath: old)
            } else {
                try fm.moveItem(atPath: partial, toPath: final)
            }
            try flush(root)
        } catch {
            try? fm.removeItem(atPath: partial)
            let previous = newest().map { "; the previous checkpoint (step \($0.step)) is intact" } ?? ""
            throw CheckpointError(description: "could not save the checkpoint of step \(step) in \(root): \(FileProblem.describe(error))\(previous)")
        }
        // Pruning: renamed out of sight first (atomic), then deleted, so a kill mid-delete never leaves a
        // half-deleted set under a final name; leftovers of earlier kills go too.
        for old in complete().dropLast(max(keep, 1)) {
            let doomed = (root as NSString).appendingPathComponent(".old-" + (old.path as NSString).lastPathComponent)
            if (try? fm.moveItem(atPath: old.path, toPath: doomed)) != nil { try? fm.removeItem(atPath: doomed) }
        }
        for name in (try? fm.contentsOfDirectory(atPath: root)) ?? [] where name.hasPrefix(".old-") || name.hasPrefix(".partial-") {
            try? fm.removeItem(atPath: (root as NSString).appendingPathComponent(name))
        }
        return final
    }

    /// fsync of a file or directory, so a rename never publishes data that is still only in memory.
    private func flush(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }
}

public struct CheckpointError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public var errorDescription: String? { description }
}
