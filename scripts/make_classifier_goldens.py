#!/usr/bin/env python3
"""Writes a small GPT2ForSequenceClassification with random weights made by Hugging Face `transformers`
into Tests/Fixtures/tiny-gpt2-classifier/, with reference class logits for a padded batch
(transformers reads each row at its last non-padding token) and for each text alone.

Run by hand (CI needs no Python):  pip install torch transformers safetensors && python3 scripts/make_classifier_goldens.py
"""
import json
import os

import torch
from transformers import GPT2Config, GPT2ForSequenceClassification

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "tiny-gpt2-classifier")
torch.manual_seed(1)

PAD = 999
texts = [[15, 7, 300, 42, 998, 0, 5], [1, 2, 3], [600, 601]]
config = GPT2Config(vocab_size=1000, n_positions=64, n_embd=32, n_layer=2, n_head=4, num_labels=3,
                    id2label={0: "negative", 1: "neutral", 2: "positive"},
                    label2id={"negative": 0, "neutral": 1, "positive": 2}, pad_token_id=PAD,
                    resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
model = GPT2ForSequenceClassification(config).eval()
with torch.no_grad():  # random biases and layer norms too, so every parameter matters
    for p in model.parameters():
        p.add_(torch.randn_like(p) * 0.05)
model.save_pretrained(OUT, safe_serialization=True)
longest = max(map(len, texts))
batch = torch.tensor([t + [PAD] * (longest - len(t)) for t in texts])
with torch.no_grad():
    batch_logits = model(batch).logits.tolist()
    single_logits = [model(torch.tensor([t])).logits[0].tolist() for t in texts]
with open(os.path.join(OUT, "reference.json"), "w") as f:
    json.dump({"generator": "transformers GPT2ForSequenceClassification", "pad_token_id": PAD, "texts": texts,
               "batch_logits": batch_logits, "single_logits": single_logits}, f)
print(f"wrote {os.path.normpath(OUT)}: {batch_logits}")
