"""Reference side of `bench/run gemm`: the same GEMMs through NumPy (its bundled OpenBLAS) and PyTorch
fp32, on 2 threads unless LLM_NUM_THREADS says otherwise. Prints one JSON object per row."""
import json
import os

threads = int(os.environ.get("LLM_NUM_THREADS", "2"))
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(threads))
import numpy as np  # noqa: E402  (after the thread variable)
import torch  # noqa: E402
from common import timed  # noqa: E402

torch.set_num_threads(threads)
M = 2048
SHAPES = [(768, 2304), (768, 768), (768, 3072), (3072, 768), (768, 50257)]



rng = np.random.default_rng(1)
for k, n in SHAPES:
    x = rng.uniform(-1, 1, (M, k)).astype(np.float32)
    w = rng.uniform(-1, 1, (k, n)).astype(np.float32)
    dy = rng.uniform(-1, 1, (M, n)).astype(np.float32)
    repeats = 3 if n > 10000 else 7
    flops = 2.0 * M * n * k
    tx, tw, tdy = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(dy)
    variants = {
        "forward": (lambda: np.matmul(x, w), lambda: torch.matmul(tx, tw)),
        "backward-data": (lambda: np.matmul(dy, w.T), lambda: torch.matmul(tdy, tw.T)),
        "backward-weight": (lambda: np.matmul(x.T, dy), lambda: torch.matmul(tx.T, tdy)),
    }
    for variant, (numpy_fn, torch_fn) in variants.items():
        for impl, fn in (("OpenBLAS (NumPy)", numpy_fn), ("PyTorch", torch_fn)):
            seconds = timed(fn, repeats)
            print(json.dumps({"bench": "gemm", "shape": f"{k}x{n}", "variant": variant, "impl": impl,
                              "threads": threads, "seconds": seconds, "gflops": flops / seconds / 1e9}), flush=True)
