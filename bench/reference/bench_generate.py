"""Reference side of `bench/run generate`: transformers' generate (greedy, KV cache, batch 1, fp32) with
the GPT-2 124M checkpoint of prepare_generate.py, 128 new tokens."""
import json
import os

import torch
from transformers import GPT2LMHeadModel

from common import timed

threads = int(os.environ.get("LLM_NUM_THREADS", "2"))
torch.set_num_threads(threads)
target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".cache", "gpt2-random")
model = GPT2LMHeadModel.from_pretrained(target).eval()
prompt = torch.tensor([[6109, 3626, 6100, 345, 1863, 262]])


def run():
    with torch.no_grad():
        return model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=128, min_new_tokens=128,
                              do_sample=False, pad_token_id=0)


seconds = timed(run, 3)
new = run().shape[1] - prompt.shape[1]
params = sum(p.numel() for p in model.parameters())
print(json.dumps({"bench": "generate", "shape": "gpt2 124M, 128 new tokens", "variant": "greedy, batch 1, KV cache",
                  "impl": "transformers generate", "threads": threads, "seconds": seconds, "tokens_per_s": new / seconds,
                  "weight_gb_per_s": params * 4 * new / seconds / 1e9}), flush=True)
