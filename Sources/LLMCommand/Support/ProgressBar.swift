// A progress bar for long work, on standard error so that standard output stays machine-readable.
// On a terminal it redraws one line; in a log (not a terminal) it prints a line every tenth of the way.

import Foundation

struct ProgressBar {
    let total: Int
    let label: String
    private let start = Date()
    private let interactive = isatty(STDERR_FILENO) == 1
    private var lastDecile = -1
    /// Whether it shows at all (data-parallel training: on rank 0 only).
    let enabled: Bool

    init(total: Int, label: String, enabled: Bool = true) {
        self.total = max(total, 1)
        self.label = label
        self.enabled = enabled
    }

    /// Shows `done` of `total`, with free text (for example the current loss) after the bar.
    mutating func update(_ done: Int, _ status: String = "") {
        guard enabled else { return }
        let fraction = Double(min(done, total)) / Double(total)
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let remaining = rate > 0 ? Double(total - done) / rate : 0
        let timing = String(format: "%.1f/s, %@ left", rate, Self.duration(remaining))
        if interactive {
            let width = 28, filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            FileHandle.standardError.write("\r\u{1B}[2K\(label) \(bar) \(done)/\(total) \(status) (\(timing))".data(using: .utf8)!)
            if done >= total { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        } else {
            let decile = Int(fraction * 10)
            if decile != lastDecile {
                lastDecile = decile
                FileHandle.standardError.write("\(label) \(done)/\(total) \(status) (\(timing))\n".data(using: .utf8)!)
            }
        }
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
