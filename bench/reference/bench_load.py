"""Reference side of `bench/run load`: transformers' GPT2LMHeadModel.from_pretrained (safetensors) on
the 124M random checkpoint made by prepare_load.py. Median of 5 loads after a warm-up (page cache warm)."""
import json
import os

import torch
import transformers
from transformers import GPT2LMHeadModel

from common import timed

torch.set_num_threads(int(os.environ.get("LLM_NUM_THREADS", "2")))
target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".cache", "gpt2-random")
size_mb = os.path.getsize(os.path.join(target, "model.safetensors")) / 1e6


def load():
    GPT2LMHeadModel.from_pretrained(target)


seconds = timed(load, 5)
print(json.dumps({"bench": "load", "shape": "gpt2 124M", "variant": "from model directory", "impl": f"transformers {transformers.__version__}",
                  "threads": torch.get_num_threads(), "seconds": seconds, "mb_per_s": size_mb / seconds}), flush=True)
