#!/usr/bin/env python3
"""Compares two `llm train` outputs (scripts/mpi_test.sh): the per-step training losses of their newest checkpoints'
trainer_state.json within 1e-5 relative, and every tensor of their model.safetensors within TOLERANCE (default 1e-5)
of the tensor's largest magnitude, or of GPT-2's initial scale 0.02 if that is larger. Prints the largest differences; exits 1 if one is over. Standard library only.

One part is left out: the key third of GPT-2's c_attn bias. Adding a constant to one query's scores does not change
its softmax, so that bias's true gradient is zero; what backward computes there is rounding noise, which AdamW
(dividing by the gradient's own magnitude) turns into updates of a few 1e-7 that differ with any change of summation
order, in one process as across several.

Usage: compare_runs.py DIR_A DIR_B [TOLERANCE]"""
import glob
import json
import os
import struct
import sys


def newest_state(directory):
    steps = sorted(glob.glob(os.path.join(directory, "checkpoints", "step-*")))
    path = os.path.join(steps[-1] if steps else directory, "trainer_state.json")
    with open(path) as f:
        return json.load(f)


def tensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        assert entry["dtype"] == "F32", f"{name}: {entry['dtype']}"
        begin, end = entry["data_offsets"]
        out[name] = struct.unpack(f"<{(end - begin) // 4}f", data[begin:end])
    return out


a, b = sys.argv[1], sys.argv[2]
tolerance = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5
failed = False
losses_a = [step[1] for step in newest_state(a)["history"]]
losses_b = [step[1] for step in newest_state(b)["history"]]
if len(losses_a) != len(losses_b):
    print(f"different step counts: {len(losses_a)} and {len(losses_b)}")
    sys.exit(1)
worst = max(abs(x - y) / max(abs(x), 1e-12) for x, y in zip(losses_a, losses_b))
print(f"{len(losses_a)} step losses: largest relative difference {worst:.2e}")
failed |= worst > 1e-5
ta, tb = tensors(os.path.join(a, "model.safetensors")), tensors(os.path.join(b, "model.safetensors"))
assert ta.keys() == tb.keys(), "different tensors"
worst_name, worst = None, 0.0
for name in ta:
    x, y = ta[name], tb[name]
    if name.endswith("attn.c_attn.bias"):  # queries and values only (see above)
        third = len(x) // 3
        x, y = x[:third] + x[2 * third:], y[:third] + y[2 * third:]
    # Biases start at zero and stay near it for a few steps: measured against the scale weights start at (0.02).
    scale = max(max(abs(v) for v in x), 0.02)
    d = max(abs(p - q) for p, q in zip(x, y)) / scale
    if d >= worst:
        worst_name, worst = name, d
print(f"{len(ta)} tensors: largest difference {worst:.2e} of the tensor's scale ({worst_name})")
failed |= worst > tolerance
sys.exit(1 if failed else 0)
