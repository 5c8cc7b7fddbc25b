#!/usr/bin/env python3
"""Goldens for Sources/NN/Recurrent.swift: PyTorch's nn.RNN (tanh and relu), nn.GRU and nn.LSTM, two layers, batch
first, on a padded batch whose rows have different lengths (packed as pack_padded_sequence does, so the final state
of a row is the state at its last token and its outputs after that are zero), from a given initial state. Saves the
weights, inputs, outputs, final states, and the gradients of a fixed random weighting of outputs and final states
with respect to every weight, the input and the initial state.

    /tmp/tvenv/bin/python scripts/make_recurrent_goldens.py     (torch; writes Tests/NNTests/Resources/recurrent-goldens.json)
"""
import json
import os

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.manual_seed(0)
B, T, I, H, L = 3, 6, 5, 4, 2
lengths = [6, 3, 1]


def enc(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().double().flatten()]}


cases = []
for kind in ["rnn_tanh", "rnn_relu", "gru", "lstm"]:
    for packed in [True, False]:
        if kind == "rnn_relu" and not packed:
            continue
        if kind.startswith("rnn"):
            module = torch.nn.RNN(I, H, num_layers=L, batch_first=True, nonlinearity=kind[4:])
        else:
            module = (torch.nn.GRU if kind == "gru" else torch.nn.LSTM)(I, H, num_layers=L, batch_first=True)
        x = torch.randn(B, T, I, requires_grad=True)
        h0 = torch.randn(L, B, H, requires_grad=True)
        c0 = torch.randn(L, B, H, requires_grad=True)
        state = (h0, c0) if kind == "lstm" else h0
        if packed:
            out, final = module(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False), state)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
        else:
            out, final = module(x, state)
        hn, cn = final if kind == "lstm" else (final, None)
        w_out, w_h = torch.randn_like(out), torch.randn_like(hn)
        loss = (out * w_out).sum() + (hn * w_h).sum()
        w_c = torch.randn_like(cn) if cn is not None else None
        if cn is not None:
            loss = loss + (cn * w_c).sum()
        loss.backward()
        case = {"kind": kind, "lengths": lengths if packed else None, "input": enc(x), "h0": enc(h0), "output": enc(out), "h_n": enc(hn),
                "w_out": enc(w_out), "w_h": enc(w_h), "loss": float(loss),
                "weights": {n: enc(p) for n, p in module.named_parameters()},
                "grads": {n: enc(p.grad) for n, p in module.named_parameters()},
                "grad_input": enc(x.grad), "grad_h0": enc(h0.grad)}
        if kind == "lstm":
            case.update({"c0": enc(c0), "c_n": enc(cn), "w_c": enc(w_c), "grad_c0": enc(c0.grad)})
        cases.append(case)

out = os.path.join(os.path.dirname(__file__), "..", "Tests", "NNTests", "Resources", "recurrent-goldens.json")
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "batch": B, "steps": T, "input_size": I, "hidden_size": H, "layers": L, "cases": cases}, f)
print(f"wrote {out}: {len(cases)} cases")
