#!/usr/bin/env python3
"""Writes tiny Llama 3 and Qwen3 models with random weights made by Hugging Face `transformers`
(LlamaForCausalLM / Qwen3ForCausalLM(...).save_pretrained) into Tests/Fixtures/, each with
reference outputs from `transformers`: logits for two prompts, the mean next-token loss on a sequence,
the gradients of that loss for a few parameters, and 20 greedy tokens.

  tiny-llama3         grouped-query attention (4 query heads, 2 key/value heads), Llama 3 rope scaling,
                      untied head, attention biases; saved in shards (model.safetensors.index.json)
  tiny-qwen3          multi-query attention (1 key/value head), head_dim 16 != hidden / heads, q/k norms, tied
  tiny-qwen3-bf16     the same model saved in bfloat16, as the real checkpoints are; its references come
                      from the bfloat16 weights computed in float32 (what we do after reading them)

Also `llama-family-parameters.json`: parameter counts of the real shapes (Llama 3.2 1B, Qwen3 0.6B),
built on the meta device.

Run by hand (CI needs no Python):  pip install torch transformers safetensors && python3 scripts/make_llama_goldens.py
"""
import json
import os

import torch
from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures")
torch.manual_seed(0)

prompts = [[15, 7, 300, 42, 999, 0, 5], [1, 2, 3]]
sequence = [(i * 37 + 11) % 1000 for i in range(40)]
GRADIENTS = ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
             "model.layers.1.self_attn.v_proj.weight", "model.layers.1.self_attn.o_proj.weight",
             "model.layers.0.mlp.gate_proj.weight", "model.layers.1.mlp.down_proj.weight",
             "model.layers.0.input_layernorm.weight", "model.norm.weight"]


def randomize(model):
    with torch.no_grad():  # norms and biases away from 1 and 0 too, so every parameter matters
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)


def rounded(values):
    return [float(f"{v:.7g}") for v in values]  # float32 precision; halves the size of the files


def references(model, kind):
    model.eval()
    with torch.no_grad():
        logits = [[rounded(row) for row in model(torch.tensor([p])).logits[0].tolist()] for p in prompts]
        greedy = model.generate(torch.tensor([prompts[0]]), attention_mask=torch.ones(1, len(prompts[0]), dtype=torch.long),
                                max_new_tokens=20, do_sample=False, pad_token_id=0)[0, len(prompts[0]):].tolist()
    model.zero_grad()
    loss = model(torch.tensor([sequence]), labels=torch.tensor([sequence])).loss
    loss.backward()
    named = dict(model.named_parameters())
    names = GRADIENTS + [n for n in named if "q_norm" in n][:1]
    gradients = {n: rounded(named[n].grad.flatten().tolist()) for n in names if n in named}
    return {"generator": f"transformers {kind}", "prompts": prompts, "logits": logits, "sequence": sequence,
            "loss": loss.item(), "gradients": gradients, "greedy": greedy}


def write(model, name, kind, **save):
    directory = os.path.join(OUT, name)
    model.save_pretrained(directory, safe_serialization=True, **save)
    os.remove(os.path.join(directory, "generation_config.json"))  # not read: greedy decoding is asked for explicitly
    reference = references(model, kind)
    with open(os.path.join(directory, "reference.json"), "w") as f:
        json.dump(reference, f)
    print(f"wrote {os.path.normpath(directory)}: loss {reference['loss']:.6f}, greedy {reference['greedy'][:5]}...")


llama = LlamaForCausalLM(LlamaConfig(
    vocab_size=1000, hidden_size=32, intermediate_size=80, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, attention_bias=True,
    rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                     "high_freq_factor": 4.0, "original_max_position_embeddings": 16},
    tie_word_embeddings=False, bos_token_id=1, eos_token_id=2))
randomize(llama)
write(llama, "tiny-llama3", "LlamaForCausalLM", max_shard_size="100KB")

qwen_config = Qwen3Config(
    vocab_size=1000, hidden_size=32, intermediate_size=80, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=1, head_dim=16, max_position_embeddings=64, rms_norm_eps=1e-6,
    rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, tie_word_embeddings=True, eos_token_id=[2, 3])
qwen = Qwen3ForCausalLM(qwen_config)
randomize(qwen)
write(qwen, "tiny-qwen3", "Qwen3ForCausalLM")

qwen_bf16 = Qwen3ForCausalLM(qwen_config)
qwen_bf16.load_state_dict(qwen.state_dict())
qwen_bf16.to(torch.bfloat16)
qwen_bf16.save_pretrained(os.path.join(OUT, "tiny-qwen3-bf16"), safe_serialization=True)
os.remove(os.path.join(OUT, "tiny-qwen3-bf16", "generation_config.json"))
# The rounded weights read back in float32 (not qwen_bf16.to(float32): that would also have rounded
# the rotary frequencies, a buffer, to bfloat16).
qwen_bf16 = Qwen3ForCausalLM.from_pretrained(os.path.join(OUT, "tiny-qwen3-bf16"), dtype=torch.float32)
reference = references(qwen_bf16, "Qwen3ForCausalLM (bfloat16 weights, float32 compute)")
with open(os.path.join(OUT, "tiny-qwen3-bf16", "reference.json"), "w") as f:
    json.dump(reference, f)
print(f"wrote tiny-qwen3-bf16: loss {reference['loss']:.6f}")

counts = {}
with torch.device("meta"):
    counts["llama-3.2-1b"] = sum(p.numel() for p in LlamaForCausalLM(LlamaConfig(
        vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
        num_key_value_heads=8, tie_word_embeddings=True)).parameters())
    counts["qwen3-0.6b"] = sum(p.numel() for p in Qwen3ForCausalLM(Qwen3Config(
        vocab_size=151936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28, num_attention_heads=16,
        num_key_value_heads=8, head_dim=128, tie_word_embeddings=True)).parameters())
with open(os.path.join(OUT, "llama-family-parameters.json"), "w") as f:
    json.dump(counts, f, indent=1)
print("parameter counts:", counts)
