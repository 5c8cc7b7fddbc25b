"""Reference side of `bench/run train`: Hugging Face GPT2LMHeadModel (PyTorch eager, fp32) with the same
shapes, random tokens, dropout 0.1, torch.optim.AdamW; LLM_NUM_THREADS threads (default 2)."""
import json
import os
import resource

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from common import timed

threads = int(os.environ.get("LLM_NUM_THREADS", "2"))
torch.set_num_threads(threads)
torch.manual_seed(0)
for name, kw, repeats in [("small", dict(n_layer=4, n_embd=256, n_head=4), 7), ("gpt2", dict(n_layer=12, n_embd=768, n_head=12), 3)]:
    model = GPT2LMHeadModel(GPT2Config(n_positions=256, **kw)).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)
    ids = torch.randint(0, 50257, (8, 257))
    x, y = ids[:, :-1], ids[:, 1:]

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(x).logits
        torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1)).backward()
        opt.step()

    seconds = timed(step, repeats)
    print(json.dumps({"bench": "train", "shape": f"{name} B=8 T=256", "variant": "step (fwd+bwd+AdamW)",
                      "impl": f"PyTorch {torch.__version__.split('+')[0]} eager", "threads": threads, "seconds": seconds,
                      "tokens_per_s": 8 * 256 / seconds,
                      "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}), flush=True)
    del model, opt
