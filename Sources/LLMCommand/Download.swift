// `llm download REPO`: a model repository from the Hugging Face Hub into the cache `huggingface_hub` uses
// (Hub target), after which `--model REPO` works in every command, offline too.

import ArgumentParser
import Foundation
import Hub

struct Download: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a model repository from the Hugging Face Hub into its shared cache.",
        discussion: """
            Files go where huggingface_hub puts them ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub: \
            models--ORG--NAME/blobs, snapshots/COMMIT, refs/REVISION), so Python and Swift share one cache. Downloads \
            resume after a dropped connection (and when run again), large files are checked against the sha256 the Hub \
            reports, and no partial file ever has its final name. HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE are honoured. \
            Afterwards --model ORG/NAME works in every command. Example: llm download openai-community/gpt2 --include "*.json" \
            --include model.safetensors --include "*.txt"
            """)

    @Argument(help: "The repository, ORG/NAME (e.g. openai-community/gpt2).") var repository: String
    @Option(help: "A branch, tag or commit.") var revision = "main"
    @Option(help: "Only files matching this shell pattern (repeatable; default: every file).") var include: [String] = []

    func run() async throws {
        let environment = HubEnvironment()
        let start = Date()
        let bars = ProgressBars()
        let result = try await HubDownloader(environment: environment).download(repository, revision: revision, include: include) { file, done, total in
            bars.update(file, done, total)
        }
        printError(String(format: "%@ (%@, commit %@): %d files, %.1f MB downloaded in %.1f s; in %@",
                          repository, revision, String(result.commit.prefix(12)), result.files.count,
                          Double(result.downloadedBytes) / 1e6, Date().timeIntervalSince(start), result.snapshot))
        print(result.snapshot)
    }
}

/// One progress bar per file, in the order the files come (the callback arrives from the network's threads).
final class ProgressBars: @unchecked Sendable { // `bars` behind `lock`
    private let lock = NSLock()
    private var bars: [String: ProgressBar] = [:]

    func update(_ file: String, _ done: Int, _ total: Int) {
        lock.withLock {
            if bars[file] == nil { bars[file] = ProgressBar(total: total, label: file) }
            bars[file]!.update(done, String(format: "%.1f / %.1f MB", Double(done) / 1e6, Double(total) / 1e6))
        }
    }
}
