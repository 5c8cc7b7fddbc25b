// The settings a resumable run was started with, saved in every checkpoint (run.json), so that `--resume`
// refuses to continue under different ones: a run resumed with another learning rate, batch size or data
// would end where neither run ends, and nothing would say so. Settings that do not change the numbers
// (how often to evaluate or save, how many checkpoints to keep, --json) are not recorded; neither is
// the length of the run, which may be extended.

import Foundation
import Training

struct RunSettings {
    static let file = "run.json"
    /// Option name (as typed, e.g. "--lr") → value.
    var values: [String: String] = [:]

    subscript(option: String) -> String? {
        get { values[option] }
        set { values[option] = newValue }
    }

    /// A file's absolute path, so a run resumed from another working directory compares equal.
    static func path(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.path }

    func write(to directory: String) throws {
        let data = try JSONSerialization.data(withJSONObject: values, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(Self.file)), options: .atomic)
    }

    /// Throws a sentence naming every setting that differs from those saved in `checkpoint` (older checkpoints
    /// have no run.json: nothing to compare).
    func check(against checkpoint: String) throws {
        guard let data = FileManager.default.contents(atPath: (checkpoint as NSString).appendingPathComponent(Self.file)) else { return }
        guard let saved = try? JSONSerialization.jsonObject(with: data) as? [String: String] else {
            throw CommandError("--resume: \(checkpoint)/\(Self.file) is unreadable")
        }
        let differences = Set(saved.keys).union(values.keys).sorted().compactMap { key -> String? in
            let (then, now) = (saved[key], values[key])
            guard then != now else { return nil }
            return "\(key) \(then ?? "(not given)") (now \(now ?? "not given"))"
        }
        guard differences.isEmpty else {
            throw CommandError("--resume: the run was started with " + differences.joined(separator: ", ") +
                               "; resume with the same settings, or start a new run in another --output")
        }
    }
}

extension RunCheckpoints {
    /// The newest complete checkpoint, checked against this run's settings, for `--resume`.
    func resumable(_ settings: RunSettings, output: String) throws -> String {
        guard let newest = newest() else {
            throw CommandError("--resume: \(output) holds no complete checkpoint (\(root)/step-N); run without --resume to start")
        }
        try settings.check(against: newest.path)
        return newest.path
    }
}
