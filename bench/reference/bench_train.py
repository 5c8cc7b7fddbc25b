"""Reference side of `bench/run train`: Hugging Face GPT2LMHeadModel (PyTorch eager, fp32) with the same
shapes, random tokens, dropout 0.1, torch.optim.AdamW; LLM_NUM_THREADS threads (default 2). In fp32, and with
CPU bf16 autocast around the forward pass and the loss (PyTorch's mixed precision: matmuls in bf16 through oneDNN,
fp32 weights and optimizer), for our bf16 rows."""
import json
import os
import resource
import sys

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from common import timed

threads = int(os.environ.get("LLM_NUM_THREADS", "2"))
# Without avx512_bf16, PyTorch's CPU bf16 GEMM is its reference loop (perf: all samples in cpublas_gemm_impl), over a
# minute per step of the small model: there the autocast row runs once, on the small model alone.
try:
    native_bf16 = "avx512_bf16" in open("/proc/cpuinfo").read()
except OSError:
    native_bf16 = True
torch.set_num_threads(threads)
torch.manual_seed(0)
for name, kw, repeats in [("small", dict(n_layer=4, n_embd=256, n_head=4), 7), ("gpt2", dict(n_layer=12, n_embd=768, n_head=12), 3)]:
    model = GPT2LMHeadModel(GPT2Config(n_positions=256, **kw)).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)
    ids = torch.randint(0, 50257, (8, 257))
    x, y = ids[:, :-1], ids[:, 1:]

    for variant, autocast in (("step (fwd+bwd+AdamW)", False), ("step bf16 (fwd+bwd+AdamW)", True)):
        if autocast and not native_bf16 and name != "small":
            print(f"bench_train.py: no avx512_bf16, so no autocast row for {name} (PyTorch's bf16 GEMM is its reference loop)",
                  file=sys.stderr)
            continue
        def step():
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                logits = model(x).logits
                loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
            loss.backward()
            opt.step()

        seconds = timed(step, repeats if native_bf16 or not autocast else 1)
        impl = f"PyTorch {torch.__version__.split('+')[0]} eager" + (" autocast bf16" if autocast else "")
        print(json.dumps({"bench": "train", "shape": f"{name} B=8 T=256", "variant": variant,
                          "impl": impl, "threads": threads, "seconds": seconds,
                          "tokens_per_s": 8 * 256 / seconds,
                          "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}), flush=True)
    del model, opt
