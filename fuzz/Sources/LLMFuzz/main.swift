// The fuzzing program for every file format we read (Targets.swift); scripts/fuzz.sh runs it.

import Foundation
import FuzzSupport

// LLM_FUZZ_SEEDS=DIR: write the seeds that need our writers (small GGUF files) into DIR and stop.
if let directory = ProcessInfo.processInfo.environment["LLM_FUZZ_SEEDS"] {
    writeSeeds(to: directory)
    exit(0)
}
runFuzzer(targets)
