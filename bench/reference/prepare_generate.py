"""Makes bench/.cache/gpt2-random and gpt2-medium-random: GPT-2 124M and 355M with random weights in the real
layout (config.json + model.safetensors, ~500 MB and ~1.4 GB) via transformers' save_pretrained, once."""
import os

from transformers import GPT2Config, GPT2LMHeadModel

cache = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".cache")
for name, config in [("gpt2", GPT2Config()), ("gpt2-medium", GPT2Config(n_embd=1024, n_layer=24, n_head=16))]:
    target = os.path.join(cache, f"{name}-random")
    if not os.path.exists(os.path.join(target, "model.safetensors")):
        GPT2LMHeadModel(config).save_pretrained(target, safe_serialization=True)
