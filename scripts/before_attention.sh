#!/usr/bin/env bash
# The story before self-attention, run: reruns the experiment of docs/BEFORE_ATTENTION.md. Three translators of
# about 240,000 parameters each (an RNN encoder-decoder without attention, GRU 160; the same with Bahdanau attention,
# GRU 128; the original Transformer, 2 + 2 layers of width 64) are trained on the built-in synthetic translation
# task for the same 2,000 steps of 32 sentence pairs (1 to 4 clauses, up to about 30 words), then score 600 test
# sentences of 1 to 6 clauses (the longer ones are longer than any seen in training), greedily and with a beam of
# 4. Writes docs/before-attention/: the accuracy-against-length plot, alignment heat maps, and results.json.
#   scripts/before_attention.sh [WORK_DIR]     (SEEDS="1 2 3" by default: about 8 minutes a seed on two cores;
#                                               needs python3, standard library only)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
seeds="${SEEDS:-1 2 3}"
mkdir -p "$work" "$here/docs/before-attention"
llm="$here/.build/release/llm"
[ -x "$llm" ] || swift build -c release --package-path "$here" --product llm >&2

models=("rnn:--model rnn --hidden-size 160" "rnn-attention:--model rnn-attention --hidden-size 128" "transformer:--model transformer")
for seed in $seeds; do
  for entry in "${models[@]}"; do
    name="${entry%%:*}" options="${entry#*:}"
    out="$work/seed-$seed/$name"
    if [ ! -f "$out.beam.json" ]; then
      mkdir -p "$work/seed-$seed"
      echo "seed $seed: training $name..." >&2
      # shellcheck disable=SC2086
      "$llm" seq2seq train $options --steps 2000 --seed "$seed" --output "$out" --json | tail -1 > "$out.json"
      "$llm" seq2seq evaluate --model "$out" --seed "$seed" --beam 4 --json | tail -1 > "$out.beam.json"
    fi
  done
done

# Where each decoder looked, on one test-like sentence of three clauses (the first seed's models).
first="$work/seed-$(echo $seeds | cut -d' ' -f1)"
sentence="the old cat sees a small bird and the dog follows the red fox and a bird likes the tall horse"
"$llm" seq2seq translate --model "$first/rnn-attention" --alignment "$here/docs/before-attention/bahdanau-alignment.svg" "$sentence" > /dev/null
"$llm" seq2seq translate --model "$first/transformer" --alignment "$here/docs/before-attention/cross-attention.svg" "$sentence" > /dev/null

LLM="$llm" python3 - "$work" "$here/docs/before-attention" $seeds <<'PY'
import json, os, statistics, sys
work, out, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
models = [("rnn", "RNN, no attention", "#d62728"), ("rnn-attention", "RNN + Bahdanau attention", "#1f77b4"),
          ("transformer", "Transformer", "#2ca02c")]
# The longest training source (about 30 words; the runs' JSON from before this field was added lack it: then the
# first seed's data is drawn again, one step).
longest = 0
for s in seeds:
    run = json.load(open(os.path.join(work, f"seed-{s}", "rnn.json")))
    if "longest_training_source_words" not in run:
        import subprocess
        line = subprocess.run([os.environ["LLM"], "seq2seq", "train", "--model", "rnn", "--steps", "1", "--hidden-size", "8", "--test-clauses", "1",
                               "--seed", s, "--output", os.path.join(work, "probe"), "--json"], capture_output=True, text=True).stdout.splitlines()[-1]
        run = json.loads(line)
    longest = max(longest, run["longest_training_source_words"])
# Bins of 8 words up to the longest training sentence, then beyond it.
bins = [(lo, min(lo + 7, longest)) for lo in range(1, longest + 1, 8)] + [(lo, lo + 7) for lo in range(longest + 1, 48, 8)]
results = {}
for key, _, _ in models:
    runs = [json.load(open(os.path.join(work, f"seed-{s}", f"{key}.json"))) for s in seeds]
    beams = [json.load(open(os.path.join(work, f"seed-{s}", f"{key}.beam.json"))) for s in seeds]
    def binned(run, metric):
        rows = []
        for lo, hi in bins:
            cells = [(v["sentences"], v[metric]) for k, v in run["by_source_words"].items() if lo <= int(k) <= hi]
            n = sum(c for c, _ in cells)
            rows.append(sum(c * m for c, m in cells) / n if n else None)
        return rows
    results[key] = {
        "parameters": runs[0]["parameters"], "seconds": [r["seconds"] for r in runs],
        "exact_match": [r["test_exact_match"] for r in runs], "word_accuracy": [r["test_word_accuracy"] for r in runs],
        "beam4_exact_match": [b["test_exact_match"] for b in beams],
        "exact_by_bin": [binned(r, "exact_match") for r in runs], "words_by_bin": [binned(r, "word_accuracy") for r in runs]}
json.dump({"seeds": seeds, "longest_training_source_words": longest, "bins": bins, "models": results}, open(os.path.join(out, "results.json"), "w"), indent=1)

# Two panels: exact match and word accuracy against source length; one line per model (mean over seeds), a dot per
# seed; the lengths beyond training shaded.
W, H, left, top, pw, ph, gap = 1000, 420, 60, 50, 400, 290, 80
parts = [f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W/2}" y="24" text-anchor="middle" font-size="16">Accuracy against source length, synthetic translation '
         f'(mean of {len(seeds)} seeds; dots: seeds)</text>']
for p, (metric, title) in enumerate([("exact_by_bin", "exact match"), ("words_by_bin", "word accuracy")]):
    x0 = left + p * (pw + gap)
    def X(i): return x0 + (i + 0.5) * pw / len(bins)
    def Y(v): return top + ph - v * ph
    trained = next(i for i, (lo, hi) in enumerate(bins) if lo > longest)
    parts.append(f'<rect x="{x0 + trained * pw / len(bins)}" y="{top}" width="{pw - trained * pw / len(bins)}" height="{ph}" fill="#eeeeee"/>')
    parts.append(f'<text x="{x0 + trained * pw / len(bins) + 4}" y="{top + 14}" font-size="10" fill="#666">longer than</text>'
                 f'<text x="{x0 + trained * pw / len(bins) + 4}" y="{top + 26}" font-size="10" fill="#666">training (&gt; {longest})</text>')
    for t in range(0, 101, 20):
        parts.append(f'<line x1="{x0}" x2="{x0 + pw}" y1="{Y(t / 100)}" y2="{Y(t / 100)}" stroke="#ddd"/>'
                     f'<text x="{x0 - 6}" y="{Y(t / 100) + 4}" text-anchor="end" font-size="11">{t} %</text>')
    for i, (lo, hi) in enumerate(bins):
        parts.append(f'<text x="{X(i)}" y="{top + ph + 16}" text-anchor="middle" font-size="11">{lo}–{hi}</text>')
    parts.append(f'<text x="{x0 + pw / 2}" y="{top + ph + 34}" text-anchor="middle" font-size="12">source words</text>')
    parts.append(f'<text x="{x0 + pw / 2}" y="{top - 8}" text-anchor="middle" font-size="13">{title}</text>')
    parts.append(f'<rect x="{x0}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    for key, label, colour in models:
        runs = results[key][metric]
        means = [statistics.mean(r[i] for r in runs) if runs[0][i] is not None else None for i in range(len(bins))]
        points = " ".join(f"{X(i)},{Y(m)}" for i, m in enumerate(means) if m is not None)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for r in runs:
            for i, v in enumerate(r):
                if v is not None:
                    parts.append(f'<circle cx="{X(i)}" cy="{Y(v)}" r="2.5" fill="{colour}" opacity="0.6"/>')
for k, (key, label, colour) in enumerate(models):
    x = 40 + k * 330
    parts.append(f'<line x1="{x}" x2="{x + 24}" y1="{H - 22}" y2="{H - 22}" stroke="{colour}" stroke-width="3"/>'
                 f'<text x="{x + 30}" y="{H - 18}" font-size="12">{label} ({results[key]["parameters"]:,} parameters)</text>')
svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif">' + "".join(parts) + "</svg>"
open(os.path.join(out, "accuracy-by-length.svg"), "w").write(svg)
for key, label, _ in models:
    r = results[key]
    f = lambda xs: f"{100 * statistics.mean(xs):.1f} ± {100 * (statistics.stdev(xs) if len(xs) > 1 else 0):.1f}"
    print(f"{label:26} exact {f(r['exact_match'])}  words {f(r['word_accuracy'])}  beam-4 exact {f(r['beam4_exact_match'])}  "
          f"{statistics.median(r['seconds']):.0f} s")
PY
