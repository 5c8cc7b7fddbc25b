#!/usr/bin/env python3
"""Loads a model directory written by our trainer (Tests/GPTTests/Resources/ours-micro, made with
`llm train --config scripts/micro-config.json --max-steps 4 --batch-size 4 --lr 1e-2 --output DIR`, then
optimizer.safetensors, trainer_state.json and loss.svg removed) with Hugging Face `transformers`, and records
its logits for a prompt in reference.json beside it. The Swift test checks that our model computes the
same logits from the same directory, so a checkpoint we write is one `transformers` reads as we do.

Run by hand (CI needs no Python):  pip install torch transformers safetensors && python3 scripts/check_transformers_roundtrip.py
"""
import json
import os

import torch
from transformers import GPT2LMHeadModel

directory = os.path.join(os.path.dirname(__file__), "..", "Tests", "GPTTests", "Resources", "ours-micro")
model = GPT2LMHeadModel.from_pretrained(directory).eval()  # fails loudly on missing or mis-shaped tensors
prompt = [464, 5895, 286, 262, 1110, 13]
with torch.no_grad():
    logits = model(torch.tensor([prompt])).logits[0]
with open(os.path.join(directory, "reference.json"), "w") as f:
    json.dump({"generator": "transformers GPT2LMHeadModel.from_pretrained on our checkpoint", "prompt": prompt,
               "logits_first_rows": logits[:, :64].tolist(), "logits_argmax": logits.argmax(-1).tolist()}, f)
print(f"transformers loaded {os.path.normpath(directory)}: argmax {logits.argmax(-1).tolist()}")
