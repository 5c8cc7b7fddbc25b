#!/usr/bin/env python3
"""Writes Tests/TensorsTests/Resources/tensor-goldens.json: forward outputs and gradients of every
tensor op, computed by PyTorch in float64 on fixed random inputs.

Each case: op name, float inputs (shape + data), integer arguments, output, an upstream gradient
(the backward pass computes d(sum(output * upstream))/d(input)), and the gradient of each float
input. The Swift tests run the same op by name and compare.

Run by hand (CI needs no Python):  pip install torch numpy && python3 scripts/make_tensor_goldens.py
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.RandomState(1234)
cases = []


def tensor(shape, low=-2.0, high=2.0):
    return torch.tensor(rng.uniform(low, high, size=shape), dtype=torch.float64, requires_grad=True)


def encode(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [float(x) for x in t.reshape(-1).tolist()]}


def case(name, op, inputs, fn, ints=None, params=None, grads=True):
    out = fn(*inputs)
    record = {"name": name, "op": op, "inputs": [encode(t) for t in inputs],
              "ints": ints or {}, "params": params or {}, "output": encode(out)}
    if grads:
        upstream = torch.tensor(rng.uniform(-1, 1, size=tuple(out.shape)), dtype=torch.float64)
        for t in inputs:
            t.grad = None
        (out * upstream).sum().backward()
        record["upstream"] = encode(upstream)
        record["grads"] = [encode(t.grad) if t.grad is not None else encode(torch.zeros_like(t)) for t in inputs]
    cases.append(record)


# Elementwise with broadcasting
case("add same shape", "add", [tensor((2, 3)), tensor((2, 3))], lambda a, b: a + b)
case("add broadcast", "add", [tensor((2, 3, 4)), tensor((3, 1))], lambda a, b: a + b)
case("sub broadcast", "sub", [tensor((4,)), tensor((2, 3, 1))], lambda a, b: a - b)
case("mul broadcast", "mul", [tensor((2, 1, 4)), tensor((3, 4))], lambda a, b: a * b)
case("div broadcast", "div", [tensor((2, 3)), tensor((3,), 0.5, 2.0)], lambda a, b: a / b)
case("mul scalar tensor", "mul", [tensor((2, 3)), tensor(())], lambda a, b: a * b)
case("expand", "expand", [tensor((3, 1))], lambda a: a.expand(2, 3, 4))

# Unary math
case("exp", "exp", [tensor((2, 5))], torch.exp)
case("log", "log", [tensor((2, 5), 0.1, 3.0)], torch.log)
case("sqrt", "sqrt", [tensor((2, 5), 0.1, 3.0)], torch.sqrt)
case("tanh", "tanh", [tensor((2, 5))], torch.tanh)
case("pow 3", "pow", [tensor((2, 5))], lambda a: a ** 3, params={"exponent": 3.0})
case("pow 2.5", "pow", [tensor((2, 5), 0.1, 3.0)], lambda a: a ** 2.5, params={"exponent": 2.5})
case("sigmoid", "sigmoid", [tensor((2, 5))], torch.sigmoid)
case("relu", "relu", [tensor((3, 4))], torch.relu)

# Selection and masks
cond = (torch.tensor(rng.uniform(size=(3, 4))) > 0.5).double()
case("where", "where", [cond, tensor((3, 4)), tensor((4,))], lambda c, a, b: torch.where(c != 0, a, b))
mask = (torch.tensor(rng.uniform(size=(1, 4))) > 0.5).double()
case("maskedFill", "maskedFill", [tensor((3, 4)), mask], lambda x, m: x.masked_fill(m != 0, -7.5),
     params={"value": -7.5})
case("tril", "tril", [tensor((2, 4, 5))], lambda a: torch.tril(a), params={"k": 0})
case("tril k=1", "tril", [tensor((4, 3))], lambda a: torch.tril(a, 1), params={"k": 1})
case("triu k=-1", "triu", [tensor((2, 3, 4))], lambda a: torch.triu(a, -1), params={"k": -1})

# Shapes and indexing
case("reshape", "reshape", [tensor((2, 3, 4))], lambda a: a.reshape(4, -1), ints={"shape": [4, -1]})
case("permute", "permute", [tensor((2, 3, 4))], lambda a: a.permute(2, 0, 1), ints={"order": [2, 0, 1]})
case("transpose", "transpose", [tensor((2, 3, 4))], lambda a: a.transpose(0, 2), ints={"axes": [0, 2]})
case("narrow", "narrow", [tensor((3, 5, 2))], lambda a: a.narrow(1, 1, 3), ints={"axis": [1], "start": [1], "length": [3]})
case("select", "select", [tensor((3, 4, 2))], lambda a: a.select(1, 2), ints={"axis": [1], "index": [2]})
case("indexSelect", "indexSelect", [tensor((4, 3))], lambda a: a.index_select(0, torch.tensor([2, 0, 2, 3])),
     ints={"axis": [0], "indices": [2, 0, 2, 3]})
case("concat", "concat", [tensor((2, 3)), tensor((2, 1)), tensor((2, 2))], lambda *t: torch.cat(t, dim=1),
     ints={"axis": [1]})
case("stack", "stack", [tensor((2, 3)), tensor((2, 3))], lambda *t: torch.stack(t, dim=1), ints={"axis": [1]})
case("split", "split", [tensor((5, 3))], lambda a: torch.cat(list(reversed(torch.split(a, [2, 1, 2], dim=0))), dim=0),
     ints={"sizes": [2, 1, 2], "axis": [0]})

# Reductions
case("sum axis", "sum", [tensor((2, 3, 4))], lambda a: a.sum(1), ints={"axis": [1]}, params={"keep": 0})
case("sum keepdim", "sum", [tensor((2, 3, 4))], lambda a: a.sum(-1, keepdim=True), ints={"axis": [-1]}, params={"keep": 1})
case("sum all", "sumAll", [tensor((2, 3))], lambda a: a.sum())
case("mean axis", "mean", [tensor((2, 3, 4))], lambda a: a.mean(0), ints={"axis": [0]}, params={"keep": 0})
case("mean all", "meanAll", [tensor((3, 4))], lambda a: a.mean())
case("max axis", "max", [tensor((3, 5))], lambda a: a.max(1).values, ints={"axis": [1]}, params={"keep": 0})
case("var unbiased", "var", [tensor((3, 5))], lambda a: a.var(1), ints={"axis": [1]}, params={"unbiased": 1})
case("var biased", "var", [tensor((4, 3))], lambda a: a.var(0, unbiased=False), ints={"axis": [0]}, params={"unbiased": 0})
am = tensor((3, 5))
cases.append({"name": "argmax", "op": "argmax", "inputs": [encode(am)], "ints": {"axis": [1]}, "params": {},
              "output": {"shape": [3], "data": [float(i) for i in am.argmax(1).tolist()]}})

# Matmul
case("matmul 2d", "matmul", [tensor((3, 4)), tensor((4, 5))], torch.matmul)
case("matmul batched", "matmul", [tensor((2, 3, 4, 5)), tensor((2, 3, 5, 6))], torch.matmul)
case("matmul broadcast batch", "matmul", [tensor((2, 1, 4, 5)), tensor((3, 5, 6))], torch.matmul)
case("matmul weights", "matmul", [tensor((2, 3, 4)), tensor((4, 6))], torch.matmul)
case("matmul left 2d", "matmul", [tensor((4, 5)), tensor((2, 5, 3))], torch.matmul)
case("matmul vector", "matmul", [tensor((5,)), tensor((5, 3))], torch.matmul)
case("linear", "linear", [tensor((2, 3, 5)), tensor((5, 4)), tensor((4,))], lambda x, w, b: x @ w + b)
case("matmulTransposed", "matmulTransposed", [tensor((2, 3, 5)), tensor((4, 5))], lambda a, w: a @ w.T)
case("matmul matrix vector", "matmul", [tensor((2, 4, 5)), tensor((5,))], torch.matmul)

# Softmax family and fused ops
case("softmax last", "softmax", [tensor((3, 5), -4, 4)], lambda a: torch.softmax(a, -1), ints={"axis": [-1]})
case("softmax axis 0", "softmax", [tensor((3, 4, 2), -4, 4)], lambda a: torch.softmax(a, 0), ints={"axis": [0]})
case("logSoftmax", "logSoftmax", [tensor((3, 6), -4, 4)], lambda a: torch.log_softmax(a, -1), ints={"axis": [-1]})


def causal(a):
    tq, tk = a.shape[-2], a.shape[-1]
    keep = torch.ones(tq, tk, dtype=torch.bool).tril(tk - tq)
    return torch.softmax(a.masked_fill(~keep, float("-inf")), -1)


case("causalSoftmax square", "causalSoftmax", [tensor((2, 4, 4), -3, 3)], causal)
case("causalSoftmax cached", "causalSoftmax", [tensor((2, 2, 5), -3, 3)], causal)
case("layerNorm", "layerNorm", [tensor((2, 3, 8)), tensor((8,)), tensor((8,))],
     lambda x, w, b: F.layer_norm(x, (8,), w, b, 1e-5), params={"eps": 1e-5})
case("gelu", "gelu", [tensor((3, 7), -4, 4)], lambda a: F.gelu(a, approximate="tanh"))
ids = [3, 0, 3, 5, 1, 3]
case("embedding", "embedding", [tensor((6, 4))], lambda w: F.embedding(torch.tensor(ids).reshape(2, 3), w),
     ints={"ids": ids, "shape": [2, 3]})
targets = [2, -100, 0, 4, 4]
case("crossEntropy", "crossEntropy", [tensor((5, 6), -3, 3)],
     lambda x: F.cross_entropy(x, torch.tensor(targets), ignore_index=-100), ints={"targets": targets})
targets3 = [1, 3, 0, 2, 2, 1]
case("crossEntropy 3d", "crossEntropy", [tensor((2, 3, 4), -3, 3)],
     lambda x: F.cross_entropy(x.reshape(-1, 4), torch.tensor(targets3)), ints={"targets": targets3})

# Comparisons (forward only)
a, b = tensor((3, 4)), tensor((4,))
b.data[1] = a.data[0, 1]
for name, fn in [("eq", torch.eq), ("ne", torch.ne), ("lt", torch.lt), ("le", torch.le), ("gt", torch.gt), ("ge", torch.ge)]:
    cases.append({"name": name, "op": name, "inputs": [encode(a), encode(b)], "ints": {}, "params": {},
                  "output": encode(fn(a, b).double())})

# The Llama family's pieces (added last so the inputs of the cases above stay as they were).
case("rmsNorm", "rmsNorm", [tensor((2, 3, 8)), tensor((8,))],
     lambda x, w: F.rms_norm(x, (8,), w, 1e-6), params={"eps": 1e-6})
case("swiGLU", "swiGLU", [tensor((3, 7), -5, 5), tensor((3, 7))], lambda g, u: F.silu(g) * u)
case("silu", "silu", [tensor((4, 5), -6, 6)], F.silu)

path = os.path.join(os.path.dirname(__file__), "..", "Tests", "TensorsTests", "Resources", "tensor-goldens.json")
with open(path, "w") as f:
    json.dump({"generator": f"PyTorch {torch.__version__}, float64", "cases": cases}, f)
print(f"wrote {len(cases)} cases to {os.path.normpath(path)}")
