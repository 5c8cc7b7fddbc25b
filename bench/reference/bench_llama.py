"""Reference side of `bench/run llama`: Hugging Face transformers (PyTorch eager, fp32) on the same shapes as
bench/Sources/LLMBench/BenchLlama.swift: a training step of a small LlamaForCausalLM (4 layers, 256 wide, 4 query
heads sharing 2 key/value heads, SwiGLU 704, GPT-2's vocabulary) at batch 8 x 256 with torch.optim.AdamW, and
greedy decoding of 128 new tokens at batch 1 with Qwen3ForCausalLM in Qwen3-0.6B's shape (random weights, KV
cache). LLM_NUM_THREADS threads (default 2)."""
import json
import os
import resource

import torch
from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

from common import timed

threads = int(os.environ.get("LLM_NUM_THREADS", "2"))
torch.set_num_threads(threads)
torch.manual_seed(0)
impl = f"PyTorch {torch.__version__.split('+')[0]} eager"


def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


model = LlamaForCausalLM(LlamaConfig(vocab_size=50257, hidden_size=256, intermediate_size=704, num_hidden_layers=4,
                                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                                     rope_theta=500000.0, tie_word_embeddings=True)).train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)
ids = torch.randint(0, 50257, (8, 257))
x, y = ids[:, :-1], ids[:, 1:]


def step():
    opt.zero_grad(set_to_none=True)
    logits = model(x).logits
    torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1)).backward()
    opt.step()


seconds = timed(step, 5)
print(json.dumps({"bench": "llama", "shape": "llama 4x256 B=8 T=256", "variant": "train step (fwd+bwd+AdamW)", "impl": impl,
                  "threads": threads, "seconds": seconds, "tokens_per_s": 8 * 256 / seconds, "peak_rss_gb": rss()}), flush=True)
del model, opt

model = Qwen3ForCausalLM(Qwen3Config(vocab_size=151936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                                     num_attention_heads=16, num_key_value_heads=8, head_dim=128, max_position_embeddings=512,
                                     rope_theta=1000000.0, tie_word_embeddings=True)).eval()
prompt = torch.tensor([[6109, 3626, 6100, 345, 1863, 262]])


def decode():
    with torch.no_grad():
        return model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=128, min_new_tokens=128,
                              do_sample=False, pad_token_id=0)


seconds = timed(decode, 3)
new = decode().shape[1] - prompt.shape[1]
params = sum(p.numel() for p in model.parameters())
print(json.dumps({"bench": "llama", "shape": "qwen3-0.6b", "variant": "decode 128, f32 weights", "impl": "transformers generate",
                  "threads": threads, "seconds": seconds, "tokens_per_s": new / seconds,
                  "weight_gb_per_s": params * 4 * new / seconds / 1e9, "peak_rss_gb": rss()}), flush=True)
