#!/usr/bin/env python3
"""Loads model directories written by our trainer with Hugging Face `transformers` and records their logits for
a prompt in reference.json beside each. The Swift tests check that our model computes the same logits from the
same directory, so a checkpoint we write is one `transformers` reads as we do. The directories:
  Tests/Fixtures/ours-micro         llm train --config scripts/micro-config.json ...
  Tests/Fixtures/ours-micro-llama   llm train --config scripts/micro-llama-config.json ...
  Tests/Fixtures/ours-micro-qwen3   llm train --config scripts/micro-qwen3-config.json ...
each with `--max-steps 4 --batch-size 4 --lr 1e-2 --output DIR`, then everything but config.json and
model.safetensors removed.

Run by hand (CI needs no Python):  pip install torch transformers safetensors && python3 scripts/check_transformers_roundtrip.py
"""
import json
import os

import torch
from transformers import AutoModelForCausalLM

resources = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures")
prompt = [464, 5895, 286, 262, 1110, 13]
for name in ["ours-micro", "ours-micro-llama", "ours-micro-qwen3"]:
    directory = os.path.join(resources, name)
    # Fails loudly on missing or mis-shaped tensors.
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()
    with torch.no_grad():
        logits = model(torch.tensor([prompt])).logits[0]
    with open(os.path.join(directory, "reference.json"), "w") as f:
        json.dump({"generator": f"transformers {type(model).__name__}.from_pretrained on our checkpoint", "prompt": prompt,
                   "logits_first_rows": logits[:, :64].tolist(), "logits_argmax": logits.argmax(-1).tolist()}, f)
    print(f"transformers loaded {os.path.normpath(directory)} as {type(model).__name__}: argmax {logits.argmax(-1).tolist()}")
