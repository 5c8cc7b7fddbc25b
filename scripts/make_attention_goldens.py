#!/usr/bin/env python3
"""Writes Tests/NNTests/Resources/attention-goldens.json: the book's CausalAttention and
MultiHeadAttention (chapter 3, PyTorch) on fixed weights and inputs: outputs, and gradients of
sum(output * upstream) with respect to the input and every weight.

Weights are exported in our layout: Linear weights as (in, out) (PyTorch stores (out, in)), and the
multi-head query/key/value projections concatenated into one (in, 3 * out) matrix (GPT-2's c_attn).

Run by hand (CI needs no Python):  pip install torch numpy && python3 scripts/make_attention_goldens.py
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(123)
torch.set_default_dtype(torch.float64)


class CausalAttention(nn.Module):  # book, chapter 3
    def __init__(self, d_in, d_out, context_length, dropout, qkv_bias=False):
        super().__init__()
        self.d_out = d_out
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1))

    def forward(self, x):
        b, num_tokens, d_in = x.shape
        keys, queries, values = self.W_key(x), self.W_query(x), self.W_value(x)
        attn_scores = queries @ keys.transpose(1, 2)
        attn_scores.masked_fill_(self.mask.bool()[:num_tokens, :num_tokens], -torch.inf)
        attn_weights = torch.softmax(attn_scores / keys.shape[-1] ** 0.5, dim=-1)
        return self.dropout(attn_weights) @ values


class MultiHeadAttention(nn.Module):  # book, chapter 3
    def __init__(self, d_in, d_out, context_length, dropout, num_heads, qkv_bias=False):
        super().__init__()
        self.d_out, self.num_heads, self.head_dim = d_out, num_heads, d_out // num_heads
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1))

    def forward(self, x):
        b, num_tokens, d_in = x.shape
        keys, queries, values = self.W_key(x), self.W_query(x), self.W_value(x)
        keys = keys.view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)
        values = values.view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)
        queries = queries.view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)
        attn_scores = queries @ keys.transpose(2, 3)
        attn_scores.masked_fill_(self.mask.bool()[:num_tokens, :num_tokens], -torch.inf)
        attn_weights = self.dropout(torch.softmax(attn_scores / keys.shape[-1] ** 0.5, dim=-1))
        context = (attn_weights @ values).transpose(1, 2).contiguous().view(b, num_tokens, self.d_out)
        return self.out_proj(context)


def enc(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": t.reshape(-1).tolist()}


def run(module, x, weights):
    x = x.clone().requires_grad_(True)
    out = module(x)
    upstream = torch.rand(out.shape) * 2 - 1
    (out * upstream).sum().backward()
    return {"input": enc(x), "output": enc(out), "upstream": enc(upstream), "input_grad": enc(x.grad),
            "weights": {k: enc(w) for k, w in weights.items()},
            "weight_grads": {k: enc(w.grad) if w.grad is not None else None for k, w in weights.items()}}


x = torch.rand(2, 5, 6)
ca = CausalAttention(6, 4, 5, 0.0, qkv_bias=True)
causal = run(ca, x, {})
causal["weights"] = {"query.weight": enc(ca.W_query.weight.T), "query.bias": enc(ca.W_query.bias),
                     "key.weight": enc(ca.W_key.weight.T), "key.bias": enc(ca.W_key.bias),
                     "value.weight": enc(ca.W_value.weight.T), "value.bias": enc(ca.W_value.bias)}
causal["weight_grads"] = {"query.weight": enc(ca.W_query.weight.grad.T), "value.bias": enc(ca.W_value.bias.grad)}

mha = MultiHeadAttention(6, 8, 5, 0.0, num_heads=2, qkv_bias=True)
multi = run(mha, x, {})
qkv_w = torch.cat([mha.W_query.weight.T, mha.W_key.weight.T, mha.W_value.weight.T], dim=1)
qkv_b = torch.cat([mha.W_query.bias, mha.W_key.bias, mha.W_value.bias])
multi["weights"] = {"c_attn.weight": enc(qkv_w), "c_attn.bias": enc(qkv_b),
                    "c_proj.weight": enc(mha.out_proj.weight.T), "c_proj.bias": enc(mha.out_proj.bias)}
multi["weight_grads"] = {
    "c_attn.weight": enc(torch.cat([mha.W_query.weight.grad.T, mha.W_key.weight.grad.T, mha.W_value.weight.grad.T], dim=1)),
    "c_attn.bias": enc(torch.cat([mha.W_query.bias.grad, mha.W_key.bias.grad, mha.W_value.bias.grad])),
    "c_proj.weight": enc(mha.out_proj.weight.grad.T), "c_proj.bias": enc(mha.out_proj.bias.grad)}

path = os.path.join(os.path.dirname(__file__), "..", "Tests", "NNTests", "Resources", "attention-goldens.json")
with open(path, "w") as f:
    json.dump({"generator": f"PyTorch {torch.__version__}, float64", "causal_attention": causal,
               "multi_head_attention": multi}, f)
print(f"wrote {os.path.normpath(path)}")
