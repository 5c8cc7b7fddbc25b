#!/usr/bin/env bash
# scripts/bf16_vs_fp32.sh [OUT]: the training curves of issue #30, fp32 against bf16 matrix products, same seed.
#   chapter5  the book's pretraining run (docs/chapter5.md): GPT-2 124M shape, The Verdict, 90 steps of 2 x 256
#   sms-124m  the same model and batch for 200 steps on the SMS Spam Collection's text (130 K training tokens, 28 times
#             The Verdict's, so the run does not just memorise its data)
# Each run writes OUT/RUN-PRECISION (default OUT: /tmp/bf16-runs); scripts/plot_bf16_vs_fp32.py then plots both
# precisions together into docs/bf16/ and prints the largest gaps. About 40 minutes on 2 cores (AVX2).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-/tmp/bf16-runs}"
data=../shared/data
[ -d "$root/$data" ] || data="$root/../shared/data"
cd "$root"
swift build -c release --product llm >&2
llm="$root/.build/release/llm"
mkdir -p "$out"
common=(--preset book-124m --context-length 256 --lr 4e-4 --weight-decay 0.1 --min-lr-fraction 1 --grad-clip 0 --seed 123)
# A run whose JSON summary is there is not redone (so an interrupted script continues where it stopped).
run() {
  local name="$1"; shift
  [ -s "$out/$name.json" ] && return 0
  rm -rf "$out/$name"
  "$llm" train "${common[@]}" "$@" --output "$out/$name" --json > "$out/$name.json.partial"
  mv "$out/$name.json.partial" "$out/$name.json"
}
for precision in fp32 bf16; do
  run "chapter5-$precision" --data "$data/the-verdict.txt" --split-by characters --val-fraction 0.1 --batch-size 2 \
    --epochs 10 --eval-every 5 --eval-batches 5 --save-every 90 --precision "$precision"
  run "sms-124m-$precision" --data "$data/SMSSpamCollection.tsv" --val-fraction 0.1 --batch-size 2 --max-steps 200 \
    --eval-every 20 --eval-batches 5 --save-every 200 --precision "$precision"
done
python3 "$root/scripts/plot_bf16_vs_fp32.py" "$out" "$root/docs/bf16"
