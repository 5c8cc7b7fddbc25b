"""Reference side of `bench/run attention`: torch.nn.functional.scaled_dot_product_attention (causal),
forward + backward, 12 heads of 64 dims, fp32, on LLM_NUM_THREADS threads (default 2)."""
import json
import os

import torch
import torch.nn.functional as F
from common import timed  # noqa: E402

threads = int(os.environ.get("LLM_NUM_THREADS", "2"))
torch.set_num_threads(threads)



for t in [256, 1024, 4096]:
    q, k, v = (torch.randn(1, 12, t, 64, requires_grad=True) for _ in range(3))
    up = torch.randn(1, 12, t, 64)

    def step():
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        (y * up).sum().backward()
        q.grad = k.grad = v.grad = None

    seconds = timed(step, 3 if t >= 4096 else 5)
    print(json.dumps({"bench": "attention", "shape": f"T={t}", "variant": "forward+backward",
                      "impl": f"PyTorch {torch.__version__.split('+')[0]} sdpa", "threads": threads,
                      "seconds": seconds, "tokens_per_s": t / seconds}), flush=True)
