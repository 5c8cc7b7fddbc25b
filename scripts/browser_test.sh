#!/usr/bin/env bash
# The playground page's end-to-end test in headless Chromium (scripts/browser_test.py, through WebDriver).
#   scripts/browser_test.sh [LLM] [--screenshots DIR] [--model DIR]
# Without --model, makes a small model with random weights and a context of 1024 tokens, so that a long
# generation is still running when the test presses Stop. The encoder views are tested on the tiny BERT fixture, the
# Search view and sources on an index of a few paragraphs embedded by the tiny sentence-embedding fixture. Needs chromium, chromedriver and python3
# (Debian: chromium chromium-driver python3; .ci/run installs them when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
llm="${1:-.build/release/llm}"
shift || true
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [[ " $* " != *" --model "* ]]; then
  printf '{"vocab_size": 50257, "n_positions": 1024, "n_embd": 256, "n_layer": 4, "n_head": 4}' > "$tmp/config.json"
  "$llm" train --config "$tmp/config.json" --max-steps 1 --batch-size 1 --context-length 8 --output "$tmp/model" > "$tmp/train.log" 2>&1 \
    || { cat "$tmp/train.log"; exit 1; }
  set -- --model "$tmp/model" "$@"
fi
python3 scripts/browser_test.py --llm "$llm" --encoder Tests/Fixtures/tiny-bert-mlm --embedder Tests/Fixtures/tiny-bert "$@"
