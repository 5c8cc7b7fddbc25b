#!/usr/bin/env bash
# The notes ask why BERT is good at classification. This reruns the experiment of docs/ENCODER_VS_DECODER.md:
# a BERT and a GPT of the same depth, width, heads and vocabulary size (each vocabulary learnt from the same
# unlabelled text, the messages of the SMS Spam Collection's training part without their labels), pretrained for
# the same steps on that text, then fine-tuned into spam classifiers with the same budget (the BERT reading its
# pooled [CLS] or the mean of its tokens, the GPT its last token) and scored on held-out messages neither saw; the
# same models without pretraining as the control; every model once per seed.
#   scripts/encoder_vs_decoder.sh [WORK_DIR]      (SEEDS="1 2 3 4 5" by default: about 10 minutes a seed on two
#                                                  cores; needs python3, standard library only)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
seeds="${SEEDS:-1 2 3 4 5}"
mkdir -p "$work"
llm="$here/.build/release/llm"
[ -x "$llm" ] || swift build -c release --package-path "$here" --product llm >&2
data="$here/../shared/data/SMSSpamCollection.tsv"
[ -f "$data" ] || data="${SMS_DATA:?set SMS_DATA to SMSSpamCollection.tsv}"

# Every fifth message is held out; the rest is the training part (its texts alone are the pretraining corpus).
awk 'NR % 5 != 0' "$data" > "$work/train.tsv"
awk 'NR % 5 == 0' "$data" > "$work/heldout.tsv"
cut -f2- "$work/train.tsv" > "$work/corpus.txt"
cut -f2- "$work/heldout.tsv" > "$work/heldout-texts.txt"
cut -f1 "$work/heldout.tsv" > "$work/heldout-labels.txt"

# One vocabulary size for both, each learnt by its family's algorithm: BERT's WordPiece (cased: capitals are part of
# what spam looks like, and byte-level BPE keeps them) and GPT-2's byte-level BPE (8,191 tokens and <|endoftext|>).
"$llm" train-tokenizer --wordpiece --cased --vocab-size 8192 -o "$work/wordpiece.txt" "$work/corpus.txt"
"$llm" train-tokenizer --vocab-size 8191 --special '<|endoftext|>' -o "$work/bpe.tiktoken" "$work/corpus.txt"

steps=400
common=(--data "$work/corpus.txt" --context-length 128 --batch-size 8 --epochs 100 --lr 5e-4 --warmup-steps 40 --eval-every 100 --json)
bert=(--preset bert-mini --tokenizer "$work/wordpiece.txt" --cased)
gpt=(--preset small --tokenizer "$work/bpe.tiktoken")
for seed in $seeds; do
  s="$work/seed-$seed"
  mkdir -p "$s"
  if [ ! -f "$s/done" ]; then
    echo "seed $seed: pretraining a BERT (bert-mini: 4 layers, 256 wide, 4 heads) by masked-language modelling, $steps steps..." >&2
    "$llm" train "${bert[@]}" "${common[@]}" --max-steps $steps --seed "$seed" --output "$s/bert" | tail -1 > "$s/bert.json"
    echo "seed $seed: pretraining a GPT (small: 4 layers, 256 wide, 4 heads) by next-token prediction, $steps steps..." >&2
    "$llm" train "${gpt[@]}" "${common[@]}" --max-steps $steps --seed "$seed" --output "$s/gpt" | tail -1 > "$s/gpt.json"
    # The controls: the same models, not pretrained (0 steps are not a run; one step at a tiny learning rate is close).
    "$llm" train "${bert[@]}" "${common[@]}" --max-steps 1 --lr 1e-9 --seed "$seed" --output "$s/bert-0" | tail -1 > /dev/null
    "$llm" train "${gpt[@]}" "${common[@]}" --max-steps 1 --lr 1e-9 --seed "$seed" --output "$s/gpt-0" | tail -1 > /dev/null
    for run in bert:cls bert:mean gpt:last bert-0:cls bert-0:mean gpt-0:last; do
      model="${run%%:*}" pooling="${run##*:}"
      echo "seed $seed: fine-tuning $model ($pooling) into a spam classifier..." >&2
      "$llm" finetune classify --model "$s/$model" --data "$work/train.tsv" --balance --split 0.85,0.15 --max-length 128 \
        $([ "$pooling" = last ] || echo --pooling "$pooling") --trainable-blocks all --lr 2e-4 --epochs 4 --patience 0 \
        --dropout 0.1 --seed "$seed" --output "$s/$model-$pooling" --json | tail -1 > "$s/$model-$pooling.json"
      "$llm" classify --model "$s/$model-$pooling" --json --file "$work/heldout-texts.txt" > "$s/$model-$pooling-heldout.jsonl"
      rm -rf "$s/$model-$pooling/checkpoints"
    done
    rm -rf "$s"/*/checkpoints
    touch "$s/done"
  fi
done

# What each classifier reads from: a BERT's attention covers the whole text in every row; a GPT's stops at the diagonal.
first="$work/seed-$(echo $seeds | cut -d' ' -f1)"
mkdir -p "$here/docs/encoder-vs-decoder"
for model in bert gpt; do
  "$llm" attention --model "$first/$model" --text "WINNER you have won a free prize" --layer 3 \
    --output "$here/docs/encoder-vs-decoder/$model-attention.svg" > /dev/null
done

python3 - "$work" "$here/docs/encoder-vs-decoder" $seeds <<'PY'
import json, os, statistics, sys
work, out, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
labels = open(os.path.join(work, "heldout-labels.txt")).read().split("\n")[:-1]
names = [("bert-cls", "BERT pretrained, pooled [CLS]"), ("bert-mean", "BERT pretrained, mean pooling"),
         ("gpt-last", "GPT pretrained, last token"), ("bert-0-cls", "BERT random, pooled [CLS]"),
         ("bert-0-mean", "BERT random, mean pooling"), ("gpt-0-last", "GPT random, last token")]
rows = []
for key, name in names:
    runs = []
    for seed in seeds:
        s = os.path.join(work, f"seed-{seed}")
        pred = [json.loads(l) for l in open(os.path.join(s, f"{key}-heldout.jsonl"))]
        assert len(pred) == len(labels)
        tp = sum(p["label"] == "spam" and l == "spam" for p, l in zip(pred, labels))
        fp = sum(p["label"] == "spam" and l == "ham" for p, l in zip(pred, labels))
        fn = sum(p["label"] == "ham" and l == "spam" for p, l in zip(pred, labels))
        ft = json.load(open(os.path.join(s, f"{key}.json")))
        family = key.split("-")[0]
        pre = json.load(open(os.path.join(s, f"{family}.json"))) if "-0-" not in key else {}
        runs.append({"seed": int(seed), "heldout_accuracy": sum(p["label"] == l for p, l in zip(pred, labels)) / len(labels),
                     "spam_f1": 2 * tp / max(2 * tp + fp + fn, 1), "parameters": ft["trainable_parameters"],
                     "pretraining_val_loss": pre.get("val_loss"),
                     "pretraining_seconds": pre["tokens"] / pre["tokens_per_second"] if pre else None,
                     "finetune_examples_per_second": ft.get("examples_per_second")})
    acc = [r["heldout_accuracy"] * 100 for r in runs]
    rows.append({"key": key, "model": name, "runs": runs, "mean_accuracy": statistics.mean(acc),
                 "sd_accuracy": statistics.stdev(acc) if len(acc) > 1 else 0.0, "min_accuracy": min(acc), "max_accuracy": max(acc),
                 "mean_spam_f1": statistics.mean(r["spam_f1"] for r in runs), "parameters": runs[0]["parameters"]})
os.makedirs(out, exist_ok=True)
json.dump({"heldout_messages": len(labels), "seeds": [int(s) for s in seeds], "rows": rows}, open(os.path.join(out, "results.json"), "w"), indent=1)
print(f"{'model':32} {'accuracy mean ± sd':>20} {'min–max':>14} {'spam F1':>8} {'params':>10}")
for r in rows:
    print(f"{r['model']:32} {r['mean_accuracy']:13.2f} ± {r['sd_accuracy']:.2f} {r['min_accuracy']:6.2f}–{r['max_accuracy']:.2f} "
          f"{r['mean_spam_f1']:8.3f} {r['parameters']:>10,}")
# Held-out accuracy per model: one dot per seed, a bar at the mean, as SVG.
lo = min(85.0, min(r["min_accuracy"] for r in rows) - 1)
w, h, left, right = 640, 60 + 40 * len(rows), 240, 60
def x(v): return left + (v - lo) / (100 - lo) * (w - left - right)
parts = []
for i, r in enumerate(rows):
    y = 34 + 40 * i
    colour = "#4c72b0" if r["key"].startswith("bert") else "#dd8452"
    parts.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" font-size="13">{r["model"]}</text>'
                 f'<rect x="{left}" y="{y + 4}" width="{x(r["mean_accuracy"]) - left:.1f}" height="18" fill="{colour}" opacity="0.35"/>'
                 f'<text x="{x(r["max_accuracy"]) + 8:.1f}" y="{y + 17}" font-size="12">{r["mean_accuracy"]:.2f} ± {r["sd_accuracy"]:.2f}</text>')
    parts += [f'<circle cx="{x(run["heldout_accuracy"] * 100):.1f}" cy="{y + 13}" r="4" fill="{colour}"/>' for run in r["runs"]]
axis = h - 22
for tick in range(int(lo) + (5 - int(lo) % 5) % 5, 101, 5):
    parts.append(f'<line x1="{x(tick):.1f}" y1="30" x2="{x(tick):.1f}" y2="{axis}" stroke="#ddd"/>'
                 f'<text x="{x(tick):.1f}" y="{axis + 14}" text-anchor="middle" font-size="11">{tick} %</text>')
svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif">'
       f'<rect width="100%" height="100%" fill="white"/><text x="{w/2}" y="18" text-anchor="middle" font-size="14">'
       f'spam classification: accuracy on {len(labels)} held-out messages ({len(seeds)} seeds: dots; bar: mean)</text>'
       + "".join(parts) + "</svg>")
open(os.path.join(out, "accuracy.svg"), "w").write(svg)
PY
