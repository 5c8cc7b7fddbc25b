"""Checks that the BERT directories `llm train --preset bert-*` and `llm finetune classify --model BERT_DIR` write load
in transformers (AutoTokenizer, BertForMaskedLM / BertForSequenceClassification) and give what `llm` gives:
  python3 scripts/check_bert_directories.py --llm .build/release/llm --mlm MLM_DIR --classifier CLASSIFIER_DIR
Needs: pip install torch transformers safetensors. Prints the largest differences; exits 1 if one is over 1e-4.
"""
import argparse
import json
import subprocess
import sys

import torch
from transformers import AutoTokenizer, BertForMaskedLM, BertForSequenceClassification

p = argparse.ArgumentParser()
p.add_argument("--llm", required=True)
p.add_argument("--mlm")
p.add_argument("--classifier")
a = p.parse_args()
worst = 0.0
if a.mlm:
    text = "I had always thought Jack Gisburn rather a cheap [MASK] though a good fellow enough"
    tok, model = AutoTokenizer.from_pretrained(a.mlm), BertForMaskedLM.from_pretrained(a.mlm).eval()
    enc = tok(text, return_tensors="pt")
    with torch.no_grad():
        probs = model(**enc).logits[0, (enc["input_ids"][0] == tok.mask_token_id).nonzero()[0, 0]].softmax(-1)
    ours = json.loads(subprocess.run([a.llm, "fill-mask", "--model", a.mlm, "--json", "--top-k", "5", text],
                                     capture_output=True, text=True, check=True).stdout)
    ours = ours[0] if isinstance(ours[0], list) else ours
    largest = max(abs(item["score"] - probs[item["token"]].item()) for item in ours)
    worst = max(worst, largest)
    print(f"fill-mask: top-5 scores vs transformers, largest difference {largest:.2e}")
if a.classifier:
    texts = ["WINNER!! You have won a free prize, call now", "are we still meeting for lunch?"]
    tok, model = AutoTokenizer.from_pretrained(a.classifier), BertForSequenceClassification.from_pretrained(a.classifier).eval()
    with torch.no_grad():
        probs = model(**tok(texts, padding=True, return_tensors="pt")).logits.softmax(-1)
    out = subprocess.run([a.llm, "classify", "--model", a.classifier, "--json"] + texts, capture_output=True, text=True, check=True).stdout
    largest = 0.0
    for row, line in zip(probs, out.strip().splitlines()):
        ours = json.loads(line)["probabilities"]
        largest = max([largest] + [abs(ours[model.config.id2label[i]] - row[i].item()) for i in range(len(row))])
    worst = max(worst, largest)
    print(f"classify: probabilities vs transformers, largest difference {largest:.2e}")
sys.exit(1 if worst > 1e-4 else 0)
