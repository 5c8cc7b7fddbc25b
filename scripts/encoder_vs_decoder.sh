#!/usr/bin/env bash
# The notes ask why BERT is good at classification. This reruns the experiment of docs/ENCODER_VS_DECODER.md:
# a BERT and a GPT of the same depth, width and heads, pretrained for the same steps on the same unlabelled
# text (the messages of the SMS Spam Collection's training part, without their labels), then fine-tuned into spam
# classifiers with the same budget, and scored on held-out messages neither saw; the same two models without
# pretraining as the control.
#   scripts/encoder_vs_decoder.sh [WORK_DIR]      (about 15 minutes on two cores; needs python3, standard library only)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
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

steps=400
common=(--data "$work/corpus.txt" --context-length 128 --batch-size 8 --epochs 100 --max-steps $steps --lr 5e-4 --warmup-steps 40
        --eval-every 100 --seed 1 --json)
echo "pretraining a BERT (bert-mini: 4 layers, 256 wide, 4 heads) by masked-language modelling, $steps steps..." >&2
"$llm" train --preset bert-mini --vocab-size 8192 "${common[@]}" --output "$work/bert" | tail -1 > "$work/bert.json"
echo "pretraining a GPT (small: 4 layers, 256 wide, 4 heads) by next-token prediction, $steps steps..." >&2
"$llm" train --preset small "${common[@]}" --output "$work/gpt" | tail -1 > "$work/gpt.json"
# The controls: the same models, not pretrained (0 steps are not a run; one step at a tiny learning rate is close).
"$llm" train --preset bert-mini --vocab-size 8192 "${common[@]}" --max-steps 1 --lr 1e-9 --output "$work/bert-0" | tail -1 > /dev/null
"$llm" train --preset small "${common[@]}" --max-steps 1 --lr 1e-9 --output "$work/gpt-0" | tail -1 > /dev/null

for model in bert gpt bert-0 gpt-0; do
  echo "fine-tuning $model into a spam classifier..." >&2
  "$llm" finetune classify --model "$work/$model" --data "$work/train.tsv" --balance --split 0.85,0.15 --max-length 128 \
    --trainable-blocks all --lr 2e-4 --epochs 4 --patience 0 --dropout 0.1 --seed 1 --output "$work/$model-spam" --json \
    | tail -1 > "$work/$model-spam.json"
  "$llm" classify --model "$work/$model-spam" --json --file "$work/heldout-texts.txt" > "$work/$model-heldout.jsonl"
done

# What each classifier reads from: a BERT's attention covers the whole text in every row; a GPT's stops at the diagonal.
mkdir -p "$here/docs/encoder-vs-decoder"
for model in bert gpt; do
  "$llm" attention --model "$work/$model" --text "WINNER you have won a free prize" --layer 3 \
    --output "$here/docs/encoder-vs-decoder/$model-attention.svg" > /dev/null
done

python3 - "$work" "$here/docs/encoder-vs-decoder" <<'PY'
import json, os, sys
work, out = sys.argv[1], sys.argv[2]
labels = open(os.path.join(work, "heldout-labels.txt")).read().split("\n")[:-1]
rows = []
for model, name in [("bert", "BERT, pretrained (MLM)"), ("gpt", "GPT, pretrained (next token)"),
                    ("bert-0", "BERT, not pretrained"), ("gpt-0", "GPT, not pretrained")]:
    pred = [json.loads(l) for l in open(os.path.join(work, f"{model}-heldout.jsonl"))]
    assert len(pred) == len(labels)
    tp = sum(p["label"] == "spam" and l == "spam" for p, l in zip(pred, labels))
    fp = sum(p["label"] == "spam" and l == "ham" for p, l in zip(pred, labels))
    fn = sum(p["label"] == "ham" and l == "spam" for p, l in zip(pred, labels))
    acc = sum(p["label"] == l for p, l in zip(pred, labels)) / len(labels)
    f1 = 2 * tp / max(2 * tp + fp + fn, 1)
    ft = json.load(open(os.path.join(work, f"{model}-spam.json")))
    pre = json.load(open(os.path.join(work, f"{model}.json"))) if model in ("bert", "gpt") else {}
    rows.append({"model": name, "heldout_accuracy": acc, "spam_f1": f1, "validation_accuracy": ft.get("validation_accuracy"),
                 "pretraining_val_loss": pre.get("val_loss"), "pretraining_seconds": pre.get("tokens", 0) / pre["tokens_per_second"] if pre else None,
                 "finetune_trainable_parameters": ft["trainable_parameters"]})
os.makedirs(out, exist_ok=True)
json.dump({"heldout_messages": len(labels), "rows": rows}, open(os.path.join(out, "results.json"), "w"), indent=1)
print(f"{'model':32} {'held-out acc':>12} {'spam F1':>8} {'params':>10}")
for r in rows:
    print(f"{r['model']:32} {r['heldout_accuracy']*100:11.2f}% {r['spam_f1']:8.3f} {r['finetune_trainable_parameters']:>10,}")
# A bar chart of the held-out accuracy, as SVG.
w, h, left = 560, 40 + 44 * len(rows), 230
lo = 80.0
bars = []
for i, r in enumerate(rows):
    v = r["heldout_accuracy"] * 100
    y = 30 + 44 * i
    width = max((v - lo) / (100 - lo), 0) * (w - left - 60)
    bars.append(f'<text x="{left - 8}" y="{y + 18}" text-anchor="end" font-size="13">{r["model"]}</text>'
                f'<rect x="{left}" y="{y}" width="{width:.1f}" height="26" fill="{"#4c72b0" if "BERT" in r["model"] else "#dd8452"}"/>'
                f'<text x="{left + width + 6:.1f}" y="{y + 18}" font-size="13">{v:.2f} %</text>')
svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif">'
       f'<rect width="100%" height="100%" fill="white"/><text x="{w/2}" y="18" text-anchor="middle" font-size="14">'
       f'spam classification: accuracy on {len(labels)} held-out messages (axis from {lo:.0f} %)</text>' + "".join(bars) + "</svg>")
open(os.path.join(out, "accuracy.svg"), "w").write(svg)
PY
