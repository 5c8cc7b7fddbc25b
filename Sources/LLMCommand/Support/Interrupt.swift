// Ctrl-C (SIGINT) and SIGTERM for long commands: the first asks the work to stop at its next safe point
// (the end of a training step, which then saves a checkpoint; the next generated token); a second one
// ends the process at once, as an impatient user expects.

import Foundation

final class Interrupt: @unchecked Sendable { // `requested` behind `lock`; the sources live as long as this
    private let lock = NSLock()
    private var signalName: String?
    private var sources: [DispatchSourceSignal] = []

    /// Starts listening (replacing the default action, which kills the process mid-write).
    static func install() -> Interrupt {
        let interrupt = Interrupt()
        for (number, name) in [(SIGINT, "Ctrl-C"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { interrupt.received(name, number) }
            source.resume()
            interrupt.sources.append(source)
        }
        return interrupt
    }

    private func received(_ name: String, _ number: Int32) {
        let first = lock.withLock {
            defer { signalName = signalName ?? name }
            return signalName == nil
        }
        if first {
            FileHandle.standardError.write("\n\(name): stopping at the next safe point (press Ctrl-C again to quit at once)\n".data(using: .utf8)!)
        } else {
            exit(128 + number)
        }
    }

    /// The signal that asked to stop ("Ctrl-C", "SIGTERM"), or nil.
    var requested: String? { lock.withLock { signalName } }

    /// The conventional exit status after stopping for it: 128 + the signal number.
    var exitCode: Int32 { requested == "SIGTERM" ? 128 + SIGTERM : 128 + SIGINT }
}
