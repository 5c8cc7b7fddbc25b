"""Reference side of `bench/run sample`: what transformers' generate(do_sample=True) runs per new token —
its TemperatureLogitsWarper, TopKLogitsWarper and TopPLogitsWarper, softmax and torch.multinomial — on one
row of 50,257 logits at a time (bench/.cache/sample-logits-*.f32 from prepare_sample.py)."""
import json
import os

import numpy as np
import torch
from transformers.generation.logits_process import LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

from common import timed

cache = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".cache")
VARIANTS = [("temperature 0.8", 0.8, None, None), ("top-k 40", 1.0, 40, None), ("top-p 0.9", 1.0, None, 0.9),
            ("top-k 40, top-p 0.9", 1.0, 40, 0.9)]
torch.set_num_threads(1)
torch.manual_seed(0)
for shape in ("peaked", "flat"):
    rows = torch.from_numpy(np.fromfile(os.path.join(cache, f"sample-logits-{shape}.f32"), dtype=np.float32).reshape(-1, 50257))
    for variant, temperature, k, p in VARIANTS:
        warpers = LogitsProcessorList([TemperatureLogitsWarper(temperature)] + ([TopKLogitsWarper(k)] if k else [])
                                      + ([TopPLogitsWarper(p)] if p else []))
        ids = torch.zeros((1, 1), dtype=torch.long)

        def run():
            for row in rows:
                scores = warpers(ids, row.unsqueeze(0).clone())
                torch.multinomial(torch.softmax(scores, dim=-1), num_samples=1)

        seconds = timed(run, 5)
        print(json.dumps({"bench": "sample", "shape": f"50257 logits, {shape}", "variant": variant,
                          "impl": "transformers warpers + torch.multinomial", "threads": 1, "seconds": seconds,
                          "tokens_per_s": len(rows) / seconds}))
