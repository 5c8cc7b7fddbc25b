#!/usr/bin/env python3
"""Golden model for Sources/Models/Seq2Seq/TransformerEncoderDecoder.swift: torch.nn.Transformer (post-norm,
batch first, ReLU, dropout 0) between two nn.Embedding tables scaled by sqrt(d) plus the sinusoidal positions of
"Attention Is All You Need", and an nn.Linear output head. Writes Tests/Fixtures/tiny-transformer-seq2seq/ as a
model directory of `llm seq2seq` (config.json, model.safetensors under our names, Linear weights stored (in, out),
the two vocabularies) and reference.json: a padded batch, its teacher-forced logits, the cross-entropy loss and the
gradient of the loss with respect to every parameter (under our names, in our layout).

    /tmp/tvenv/bin/python scripts/make_transformer_goldens.py     (torch, safetensors)
"""
import json
import math
import os

import torch
from safetensors.torch import save_file

torch.manual_seed(0)
D, HEADS, LAYERS, FF, SV, TV, POSITIONS = 16, 2, 2, 24, 9, 7, 32

source_embedding = torch.nn.Embedding(SV, D)
target_embedding = torch.nn.Embedding(TV, D)
transformer = torch.nn.Transformer(d_model=D, nhead=HEADS, num_encoder_layers=LAYERS, num_decoder_layers=LAYERS,
                                   dim_feedforward=FF, dropout=0.0, batch_first=True)
output = torch.nn.Linear(D, TV)
modules = [source_embedding, target_embedding, transformer, output]
for m in modules:
    m.train()  # dropout is 0; training mode keeps torch off its fused inference path, which zeroes padded rows

table = torch.zeros(POSITIONS, D)
for p in range(POSITIONS):
    for i in range(0, D, 2):
        angle = p / math.pow(10000, i / D)
        table[p, i], table[p, i + 1] = math.sin(angle), math.cos(angle)

# Two sources (lengths 5 and 3, padded with 0) and teacher-forced targets (begin 1, end 2, -100 ignored).
source = torch.tensor([[3, 4, 5, 6, 7], [8, 3, 5, 0, 0]])
lengths = [5, 3]
target_inputs = torch.tensor([[1, 3, 4, 5], [1, 6, 0, 0]])
targets = torch.tensor([[3, 4, 5, 2], [6, 2, -100, -100]])


def embed(table_module, ids):
    return table_module(ids) * math.sqrt(D) + table[: ids.shape[1]]


padding = torch.tensor([[j >= n for j in range(source.shape[1])] for n in lengths])
causal = torch.nn.Transformer.generate_square_subsequent_mask(target_inputs.shape[1])
hidden = transformer(embed(source_embedding, source), embed(target_embedding, target_inputs), tgt_mask=causal,
                     src_key_padding_mask=padding, memory_key_padding_mask=padding, tgt_is_causal=True)
logits = output(hidden)
loss = torch.nn.functional.cross_entropy(logits.reshape(-1, TV), targets.reshape(-1), ignore_index=-100)
loss.backward()


def ours(which):
    """Our parameter names and tensors (Linear weights (in, out)), from the torch parameters' values or gradients."""
    get = (lambda p: p.detach()) if which == "value" else (lambda p: p.grad)
    out = {"source_embedding.weight": get(source_embedding.weight), "target_embedding.weight": get(target_embedding.weight)}

    def linear(name, weight, bias):
        out[name + ".weight"], out[name + ".bias"] = get(weight).t(), get(bias)

    def attention(name, mha):
        w, b = get(mha.in_proj_weight), get(mha.in_proj_bias)
        for k, part in enumerate(["query", "key", "value"]):
            out[f"{name}.{part}.weight"], out[f"{name}.{part}.bias"] = w[k * D:(k + 1) * D].t(), b[k * D:(k + 1) * D]
        linear(name + ".output", mha.out_proj.weight, mha.out_proj.bias)

    def norm(name, ln):
        out[name + ".weight"], out[name + ".bias"] = get(ln.weight), get(ln.bias)

    for side, layers in [("encoder", transformer.encoder.layers), ("decoder", transformer.decoder.layers)]:
        for n, layer in enumerate(layers):
            prefix = f"{side}.layers.{n}"
            attention(prefix + ".self_attn", layer.self_attn)
            if side == "decoder":
                attention(prefix + ".cross_attn", layer.multihead_attn)
            linear(prefix + ".feed_forward.linear1", layer.linear1.weight, layer.linear1.bias)
            linear(prefix + ".feed_forward.linear2", layer.linear2.weight, layer.linear2.bias)
            for k in range(1, 4 if side == "decoder" else 3):
                norm(f"{prefix}.norm{k}", getattr(layer, f"norm{k}"))
    norm("encoder.norm", transformer.encoder.norm)
    norm("decoder.norm", transformer.decoder.norm)
    linear("output", output.weight, output.bias)
    return {k: v.contiguous().float() for k, v in out.items()}


directory = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "tiny-transformer-seq2seq")
os.makedirs(directory, exist_ok=True)
save_file(ours("value"), os.path.join(directory, "model.safetensors"), metadata={"format": "llm-seq2seq"})
config = {"architecture": "TransformerEncoderDecoder",
          "config": {"sourceVocabulary": SV, "targetVocabulary": TV, "modelSize": D, "heads": HEADS, "encoderLayers": LAYERS,
                     "decoderLayers": LAYERS, "feedForwardSize": FF, "dropout": 0.0, "maxPositions": POSITIONS}}
with open(os.path.join(directory, "config.json"), "w") as f:
    json.dump(config, f, indent=2, sort_keys=True)
for name, count in [("source_vocab.txt", SV), ("target_vocab.txt", TV)]:
    with open(os.path.join(directory, name), "w") as f:
        f.write("\n".join(["<pad>", "<s>", "</s>"] + [f"w{i}" for i in range(3, count)]) + "\n")
reference = {"torch": torch.__version__, "source": source.flatten().tolist(), "lengths": lengths,
             "target_inputs": target_inputs.flatten().tolist(), "targets": targets.flatten().tolist(),
             "logits": [float(v) for v in logits.detach().flatten()], "loss": loss.item(),
             "grads": {k: [float(x) for x in v.flatten()] for k, v in ours("grad").items()}}
with open(os.path.join(directory, "reference.json"), "w") as f:
    json.dump(reference, f)
print(f"wrote {directory}: loss {loss.item():.6f}, {len(reference['grads'])} parameters")
