// `LLMBench load`: loading the GPT-2 124M checkpoint that bench/reference/prepare_load.py writes.

import Formats
import Foundation

func benchLoad(_ args: [String]) {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".cache/gpt2-random").path
    let size = Double((try? FileManager.default.attributesOfItem(atPath: dir + "/model.safetensors")[.size] as? Int) ?? 0) / 1e6
    let seconds = time(repeats: 5) { _ = try! Checkpoint.load(dir) }
    emit(["bench": "load", "shape": "gpt2 124M", "variant": "from model directory", "impl": "llm (Swift+C)",
          "threads": 1, "seconds": seconds, "mb_per_s": size / seconds])
}
