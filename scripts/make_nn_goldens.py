#!/usr/bin/env python3
"""Writes Tests/NNTests/Resources/nn-goldens.json: parameter values after each of several AdamW steps
(torch.optim.AdamW) from fixed parameters and gradients.

Run by hand (CI needs no Python):  pip install torch numpy && python3 scripts/make_nn_goldens.py
"""
import json
import os

import numpy as np
import torch

rng = np.random.RandomState(7)
param = torch.tensor(rng.uniform(-1, 1, size=(3, 4)), dtype=torch.float64, requires_grad=True)
initial = param.detach().reshape(-1).tolist()
opt = torch.optim.AdamW([param], lr=0.01, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
steps = []
for step in range(5):
    grad = rng.uniform(-1, 1, size=(3, 4))
    param.grad = torch.tensor(grad, dtype=torch.float64)
    opt.step()
    steps.append({"grad": grad.reshape(-1).tolist(), "param": param.detach().reshape(-1).tolist()})

golden = {"generator": f"PyTorch {torch.__version__} AdamW, float64",
          "adamw": {"lr": 0.01, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1,
                    "shape": [3, 4], "initial": initial, "steps": steps}}
path = os.path.join(os.path.dirname(__file__), "..", "Tests", "NNTests", "Resources", "nn-goldens.json")
with open(path, "w") as f:
    json.dump(golden, f)
print(f"wrote {os.path.normpath(path)}")
