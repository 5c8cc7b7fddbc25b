#!/usr/bin/env bash
# bench/profile_train.sh [small|gpt2] [fp32|bf16]: where a training step's time goes. Runs `LLMBench train` for
# one model and precision under `perf record` (cpu-clock samples on every thread) and prints the share of
# samples in the matrix-product kernels (GEMM micro-kernels, their packing and driver), in the fused attention
# kernel, and everywhere else (layer norm, GELU, softmax and cross-entropy, AdamW, embeddings, copies).
# Needs `perf` (Debian: linux-perf) and kernel.perf_event_paranoid <= 2.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
model="${1:-gpt2}" precision="${2:-bf16}"
command -v perf > /dev/null || { echo "bench/profile_train.sh needs perf (apt-get install linux-perf)" >&2; exit 1; }
swift build -c release --package-path "$here" >&2
export LLM_NUM_THREADS="${LLM_NUM_THREADS:-2}"
data="$(mktemp)"
trap 'rm -f "$data"' EXIT
# -D: start sampling after 6 s, when the model is made (random initialisation) and the warm-up step has begun.
perf record -q -D 6000 -F 499 -o "$data" -- "$here/.build/release/LLMBench" train "$model" "$precision" >&2
perf report -i "$data" --stdio --no-children --sort symbol -q 2>/dev/null | python3 -c '
import re, sys
shares = {"matrix products (GEMM)": 0.0, "fused attention": 0.0, "everything else": 0.0}
top = []
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+\[[.k]\]\s+(\S+)", line)
    if not m:
        continue
    share, symbol = float(m.group(1)), m.group(2)
    # gemm.c and gemm_bf16.c: micro-kernels, packing, the bf16 rounding pass, the driver; attention.c: the causal kernels.
    if re.match(r"(kernel_(avx|portable|bf16)|pack_|gemm_|small_m|llm_sgemm)", symbol):
        shares["matrix products (GEMM)"] += share
    elif re.search(r"causal|attention", symbol):
        shares["fused attention"] += share
    else:
        shares["everything else"] += share
        top.append((share, symbol))
for name, share in shares.items():
    print(f"{name}: {share:.1f} % of samples")
print("largest others: " + ", ".join(f"{s} {v:.1f} %" for v, s in sorted(top, reverse=True)[:6]))
'
