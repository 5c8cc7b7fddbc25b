#!/usr/bin/env python3
"""Checks that a classifier directory written by `llm finetune classify` reads the same in Hugging Face
`transformers` (GPT2ForSequenceClassification.from_pretrained) as in ours (`llm classify --json`):
same labels, same class probabilities for a few texts.

Run by hand (CI needs no Python), after `swift build -c release`:
    pip install torch transformers safetensors tiktoken && python3 scripts/check_classifier_roundtrip.py DIR
"""
import json
import subprocess
import sys

import tiktoken
import tiktoken.load
import torch
from transformers import GPT2ForSequenceClassification

directory = sys.argv[1]
texts = ["Free entry in a weekly competition to win cup final tickets, text WIN now",
         "Are we still on for dinner tonight?", "ok", "URGENT! You have won a 1 week FREE membership"]
model = GPT2ForSequenceClassification.from_pretrained(directory).eval()  # fails loudly on missing or mis-shaped tensors
# tiktoken's gpt2 encoding from the file we ship (no download needed).
encoding = tiktoken.Encoding(
    name="gpt2", explicit_n_vocab=50257,
    pat_str=r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s""",
    mergeable_ranks=tiktoken.load.load_tiktoken_bpe("Sources/Tokenizers/Resources/r50k_base.tiktoken"),
    special_tokens={"<|endoftext|>": 50256})
with torch.no_grad():
    theirs = [torch.softmax(model(torch.tensor([encoding.encode_ordinary(t)])).logits[0], -1).tolist() for t in texts]
out = subprocess.run([".build/release/llm", "classify", "--model", directory, "--json", *texts],
                     check=True, capture_output=True, text=True).stdout.splitlines()
worst = 0.0
for text, line, p in zip(texts, out, theirs):
    ours = json.loads(line)
    labels = [model.config.id2label[i] for i in range(len(p))]
    worst = max(worst, max(abs(ours["probabilities"][label] - q) for label, q in zip(labels, p)))
    print(f"{ours['label']:>8} {ours['probability']:.6f} | transformers {labels[max(range(len(p)), key=p.__getitem__)]:>8} "
          f"{max(p):.6f} | {text}")
print(f"largest probability difference: {worst:.2e}")
sys.exit(0 if worst < 1e-4 else 1)
