"""Reference side of `bench/run bert`: transformers' BertForMaskedLM (PyTorch eager, fp32) with the same shapes as
LLMBench bert (vocabulary 30,522, batch 8 × 128, dropout 0.1, 15 % of positions labelled), torch.optim.AdamW;
LLM_NUM_THREADS threads (default 2)."""
import json
import os
import resource

import torch
from transformers import BertConfig, BertForMaskedLM

from common import timed

threads = int(os.environ.get("LLM_NUM_THREADS", "2"))
torch.set_num_threads(threads)
torch.manual_seed(0)
shapes = [("bert-small", dict(num_hidden_layers=4, hidden_size=512, num_attention_heads=8, intermediate_size=2048), 5),
          ("bert-base", dict(num_hidden_layers=12, hidden_size=768, num_attention_heads=12, intermediate_size=3072), 3)]
for name, kw, repeats in shapes:
    model = BertForMaskedLM(BertConfig(vocab_size=30522, **kw)).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    ids = torch.randint(0, 30522, (8, 128))
    labels = torch.where(torch.rand(8, 128) < 0.15, ids, torch.full_like(ids, -100))

    def step():
        opt.zero_grad(set_to_none=True)
        model(input_ids=ids, labels=labels).loss.backward()
        opt.step()

    seconds = timed(step, repeats)
    print(json.dumps({"bench": "bert", "shape": f"{name} B=8 T=128", "variant": "MLM step (fwd+bwd+AdamW)",
                      "impl": f"PyTorch {torch.__version__.split('+')[0]} eager", "threads": threads, "seconds": seconds,
                      "tokens_per_s": 8 * 128 / seconds,
                      "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}), flush=True)
    del model, opt
