#!/usr/bin/env python3
"""Writes small GPT-2 models with random weights made by Hugging Face `transformers`
(GPT2LMHeadModel(GPT2Config(...)).save_pretrained) into Tests/Fixtures/, one with the output
head tied to the token embeddings and one untied, each with reference outputs from `transformers`:
logits for two prompts, the mean next-token loss on a sequence, and 20 greedy tokens.

Run by hand (CI needs no Python):  pip install torch transformers safetensors && python3 scripts/make_gpt2_goldens.py
"""
import json
import os

import torch
from transformers import GPT2Config, GPT2LMHeadModel

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures")
torch.manual_seed(0)

prompts = [[15, 7, 300, 42, 999, 0, 5], [1, 2, 3]]
sequence = [(i * 37 + 11) % 1000 for i in range(40)]
for name, tied in [("tiny-gpt2-tied", True), ("tiny-gpt2-untied", False)]:
    config = GPT2Config(vocab_size=1000, n_positions=64, n_embd=32, n_layer=2, n_head=4,
                        tie_word_embeddings=tied, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT2LMHeadModel(config).eval()
    with torch.no_grad():  # random biases and layer norms too, so every parameter matters
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    directory = os.path.join(OUT, name)
    model.save_pretrained(directory, safe_serialization=True)
    with torch.no_grad():
        logits = [model(torch.tensor([p])).logits[0].tolist() for p in prompts]
        loss = model(torch.tensor([sequence]), labels=torch.tensor([sequence])).loss.item()
        # An explicit attention mask: otherwise generate() would treat the prompt's token 0 as padding.
        greedy = model.generate(torch.tensor([prompts[0]]), attention_mask=torch.ones(1, len(prompts[0]), dtype=torch.long),
                                max_new_tokens=20, do_sample=False, pad_token_id=0)[0, len(prompts[0]):].tolist()
    with open(os.path.join(directory, "reference.json"), "w") as f:
        json.dump({"generator": "transformers GPT2LMHeadModel", "prompts": prompts, "logits": logits,
                   "sequence": sequence, "loss": loss, "greedy": greedy}, f)
    print(f"wrote {os.path.normpath(directory)}: loss {loss:.6f}, greedy {greedy[:5]}...")
