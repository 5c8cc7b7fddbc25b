"""Makes bench/.cache/gpt2-random: a GPT-2 124M model with random weights in the real layout
(config.json + model.safetensors, ~500 MB) via transformers' save_pretrained, once."""
import os

from transformers import GPT2Config, GPT2LMHeadModel

target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".cache", "gpt2-random")
if not os.path.exists(os.path.join(target, "model.safetensors")):
    GPT2LMHeadModel(GPT2Config()).save_pretrained(target, safe_serialization=True)
