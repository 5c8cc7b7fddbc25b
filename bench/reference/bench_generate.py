"""Reference side of `bench/run generate`: transformers' generate (greedy, KV cache, batch 1, fp32) on the
random checkpoints of prepare_generate.py, 128 new tokens, and a forward pass over a 512-token prompt
(prefill), on 1 and 2 threads. Usage: bench_generate.py MODEL (gpt2 or gpt2-medium)."""
import json
import os
import resource
import sys

import torch
from transformers import GPT2LMHeadModel

from common import timed

name = sys.argv[1] if len(sys.argv) > 1 else "gpt2"
label = "gpt2 124M" if name == "gpt2" else name
target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".cache", f"{name}-random")
model = GPT2LMHeadModel.from_pretrained(target).eval()
prompt = torch.tensor([[6109, 3626, 6100, 345, 1863, 262]])
long_prompt = torch.randint(0, 50257, (1, 512), generator=torch.Generator().manual_seed(3))
params = sum(p.numel() for p in model.parameters())


def decode():
    with torch.no_grad():
        return model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=128, min_new_tokens=128,
                              do_sample=False, pad_token_id=0)


def prefill():
    with torch.no_grad():
        model(long_prompt, use_cache=True)


for threads in (1, 2):
    torch.set_num_threads(threads)
    seconds = timed(decode, 3)
    new = decode().shape[1] - prompt.shape[1]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(json.dumps({"bench": "generate", "shape": label, "variant": f"decode f32, {threads} thread(s)",
                      "impl": "transformers generate", "threads": threads, "seconds": seconds, "tokens_per_s": new / seconds,
                      "weight_gb_per_s": params * 4 * new / seconds / 1e9, "peak_rss_gb": rss}), flush=True)
    seconds = timed(prefill, 3)
    print(json.dumps({"bench": "generate", "shape": label, "variant": f"prefill 512 f32, {threads} thread(s)",
                      "impl": "transformers generate", "threads": threads, "seconds": seconds, "tokens_per_s": 512 / seconds,
                      "peak_rss_gb": rss}), flush=True)
