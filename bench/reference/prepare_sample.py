"""Makes bench/.cache/sample-logits-{peaked,flat}.f32: 32 rows of 50,257 float32 logits each (raw, row after
row) for `bench/run sample`. Peaked: normal with deviation 2.5 plus 20 tokens raised by 8 per row, so a few
tokens hold most of the mass as in a trained model's prediction; flat: deviation 0.1, as from random weights."""
import os

import numpy as np

cache = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".cache")
os.makedirs(cache, exist_ok=True)
rng = np.random.default_rng(0)
rows, vocabulary = 32, 50257
peaked = rng.normal(0, 2.5, (rows, vocabulary))
for row in peaked:
    row[rng.choice(vocabulary, 20, replace=False)] += 8
flat = rng.normal(0, 0.1, (rows, vocabulary))
for name, logits in [("peaked", peaked), ("flat", flat)]:
    logits.astype(np.float32).tofile(os.path.join(cache, f"sample-logits-{name}.f32"))
