// What every long training command (`train`, `finetune classify`, `finetune instruct`) does around its
// loop: checkpoints in OUTPUT/checkpoints (RunCheckpoints: whole or not at all, the K newest kept), the
// run's settings saved in each (RunSettings: `--resume` refuses different ones), and Ctrl-C / SIGTERM
// finishing the step, saving and saying how to continue.

import ArgumentParser
import Foundation
import Training

final class ResumableRun {
    let checkpoints: RunCheckpoints
    let settings: RunSettings
    let keep: Int
    private let interrupt = Interrupt.install()
    /// The checkpoint written last by this process.
    private(set) var lastCheckpoint: String?

    init(output: String, settings: RunSettings, keep: Int) {
        checkpoints = RunCheckpoints(runDirectory: output)
        self.settings = settings
        self.keep = keep
    }

    /// The checkpoint `--resume` continues from: the newest complete one, saved with these settings.
    func resumePoint() throws -> String { try checkpoints.resumable(settings, output: checkpoints.runDirectory) }

    /// Saves checkpoint `step`: `write` fills the directory, then the settings are added.
    func save(step: Int, _ write: (String) throws -> Void) throws {
        lastCheckpoint = try checkpoints.save(step: step, keep: keep) { directory in
            try write(directory)
            try settings.write(to: directory)
        }
    }

    /// Whether Ctrl-C or SIGTERM asked the run to stop.
    var stopRequested: Bool { interrupt.requested != nil }

    /// After a run that stopped early: says where it was saved and how to continue, then exits as the signal asks.
    func stopped(at step: Int, of total: Int) -> ExitCode {
        printError("\nstopped at step \(step) of \(total)" +
                   (lastCheckpoint.map { "; saved \($0). Continue with the same command and --resume" } ?? ""))
        return ExitCode(interrupt.exitCode)
    }
}
