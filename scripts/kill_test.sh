#!/usr/bin/env bash
# Crash consistency of `llm train` (run by .ci/run; KILLS=N for more rounds):
#   1. an uninterrupted reference run;
#   2. the same run killed with SIGKILL at random moments (during steps and during checkpoint writes),
#      resumed with --resume after each kill. Every time: each checkpoint under a final name loads, and the
#      newest one lost at most --save-every steps of what the killed run had printed. At the end the
#      resumed run's model is byte-identical to the reference's;
#   3. a full disk (a small tmpfs, when this machine lets us mount one) while writing a checkpoint: one
#      clear error, a non-zero exit, the previous checkpoint intact.
# Usage: scripts/kill_test.sh [path to llm]   (default .build/release/llm)
set -euo pipefail
llm="$(realpath "${1:-.build/release/llm}")"
kills="${KILLS:-12}"
work="$(mktemp -d)"
cleanup() { umount "$work/full" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "kill test FAILED: $*" >&2; exit 1; }

echo '{"vocab_size": 50257, "n_positions": 32, "n_embd": 32, "n_layer": 2, "n_head": 2}' > "$work/tiny.json"
every=10
args=(train --config "$work/tiny.json" --epochs 100 --max-steps 400 --eval-every 50 --save-every $every --batch-size 4 --seed 7)

"$llm" "${args[@]}" --output "$work/reference" > /dev/null 2> "$work/reference.log" || { cat "$work/reference.log"; fail "the reference run failed"; }

# `|| true`: before the first save there is no step-* and ls exits 2, which `set -e -o pipefail` would turn into the
# script's exit status the moment `latest="$(newest)"` runs (a kill landing before step 10 did exactly that in CI).
newest() { { ls -d "$work/run/checkpoints"/step-* 2>/dev/null || true; } | sort | tail -1; }
loads() { "$llm" generate --model "$1" --prompt "Every" --max-new-tokens 1 --temperature 0 > /dev/null 2>&1; }

for round in $(seq 1 "$kills"); do
  resume=()
  [ -n "$(newest)" ] && resume=(--resume)
  "$llm" "${args[@]}" --output "$work/run" "${resume[@]}" > /dev/null 2> "$work/round.log" &
  pid=$!
  # 0.3 to 2.3 s: a whole run takes ~25 s here, so kills land in steps, evaluations and saves; the first round
  # always kills early (before any checkpoint exists), which is the case a real crash at start-up is.
  delay="$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.3 + 2.0 * r / 32768 }')"
  [ "$round" = 1 ] && delay=0.2
  sleep "$delay"
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  done_steps="$(tr '\r' '\n' < "$work/round.log" | sed -n 's/^training \([0-9]*\)\/.*/\1/p' | tail -1)"
  latest="$(newest)"
  saved=0
  [ -n "$latest" ] && saved=$((10#${latest##*step-}))
  for dir in "$work/run/checkpoints"/step-*; do
    [ -d "$dir" ] || continue
    for f in config.json model.safetensors optimizer.safetensors trainer_state.json; do
      [ -s "$dir/$f" ] || fail "round $round: $dir has no $f"
    done
    loads "$dir" || fail "round $round: $dir does not load"
  done
  if [ -n "$done_steps" ] && [ "$saved" -lt $((done_steps - every)) ]; then
    fail "round $round: the run had done $done_steps steps but the newest checkpoint is step $saved"
  fi
  echo "round $round: killed after ${done_steps:-0} steps printed; newest complete checkpoint: step $saved"
done

resume=()
[ -n "$(newest)" ] && resume=(--resume)
"$llm" "${args[@]}" --output "$work/run" "${resume[@]}" > /dev/null 2> "$work/final.log" || { cat "$work/final.log"; fail "the last resume failed"; }
cmp -s "$work/reference/model.safetensors" "$work/run/model.safetensors" || fail "the resumed run's model differs from the uninterrupted run's"
echo "after $kills kills: the resumed run ends byte-identical to the uninterrupted one"

mkdir -p "$work/full"
if mount -t tmpfs -o size=30m tmpfs "$work/full" 2>/dev/null; then
  # A checkpoint is ~20 MB (model + AdamW moments): the first fits, the second does not.
  if "$llm" "${args[@]}" --output "$work/full/run" > /dev/null 2> "$work/full.log"; then fail "a run on a full disk exited 0"; fi
  grep -q "no space left on device; the previous checkpoint (step $every) is intact" "$work/full.log" \
    || { cat "$work/full.log"; fail "no clear error for a full disk"; }
  [ "$(grep -c . "$work/full.log" | tr -d ' ')" -gt 0 ] && ! grep -q "NSCocoaErrorDomain\|UserInfo" "$work/full.log" || fail "a raw Foundation error was printed"
  loads "$work/full/run/checkpoints/step-$(printf %08d $every)" || fail "the checkpoint before the full disk does not load"
  [ -z "$(ls -A "$work/full/run/checkpoints" | grep -v "^step-")" ] || fail "a partial checkpoint was left behind"
  echo "full disk: $(grep -o "could not save.*" "$work/full.log" | head -1)"
else
  echo "full disk: skipped (cannot mount a tmpfs here)"
fi
echo "kill test passed"
