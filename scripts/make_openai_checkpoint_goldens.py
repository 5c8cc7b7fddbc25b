"""Fixtures for reading OpenAI's original GPT-2 checkpoints (TensorFlow), made by TensorFlow itself.

Writes Tests/Fixtures/openai-tiny/ laid out exactly as the book's `gpt_download.py` leaves a model
directory: checkpoint, hparams.json, encoder.json, vocab.bpe, model.ckpt.index, model.ckpt.data-00000-of-00001
(the .meta graph is not needed and not written) — a tiny GPT-2 (vocabulary 300: GPT-2's 256 byte tokens, its
first 43 merges and <|endoftext|>) with seeded random weights, saved by `tf.compat.v1.train.Saver` as OpenAI's
were. Then the expected logits, from the book's own loading path: `load_gpt2_params_from_tf_ckpt` (chapter 5,
reading back through `tf.train.load_variable`) and `load_weights_into_gpt` into the book's `GPTModel`
(chapter 4) in PyTorch. Also a copy with one flipped byte in the data file, which must be refused.

TensorFlow and PyTorch rarely share an environment, so this runs in two steps (CI needs neither):
    PYTHON_WITH_TENSORFLOW scripts/make_openai_checkpoint_goldens.py write     # checkpoint + params.npz
    PYTHON_WITH_TORCH      scripts/make_openai_checkpoint_goldens.py logits    # expected-logits.json
"""
import json
import os
import shutil
import sys

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TARGET = os.path.join(ROOT, "Tests", "Fixtures", "openai-tiny")
DATA = os.path.join(ROOT, "..", "shared", "data")
PARAMS = "/tmp/openai-tiny-params.npz"
HPARAMS = {"n_vocab": 300, "n_ctx": 32, "n_embd": 16, "n_head": 2, "n_layer": 2}
IDS = [[40, 257, 299, 12, 7, 256, 280, 33, 100, 101, 102, 290], [298, 1, 2, 3]]


def write():
    import tensorflow as tf

    os.makedirs(TARGET, exist_ok=True)
    # The tokenizer files in GPT-2's own formats, cut to the 256 byte tokens and the first merges.
    encoder = json.load(open(os.path.join(DATA, "gpt2-encoder.json"), encoding="utf-8"))
    merges = open(os.path.join(DATA, "gpt2-vocab.bpe"), encoding="utf-8").read().split("\n")[1:44]
    small = {token: i for token, i in encoder.items() if i < 299}
    small["<|endoftext|>"] = 299
    json.dump(small, open(os.path.join(TARGET, "encoder.json"), "w", encoding="utf-8"), ensure_ascii=False)
    open(os.path.join(TARGET, "vocab.bpe"), "w", encoding="utf-8").write("#version: 0.2\n" + "\n".join(merges) + "\n")
    json.dump(HPARAMS, open(os.path.join(TARGET, "hparams.json"), "w"), indent=2)

    rng = np.random.default_rng(1234)
    v, n, c, h = HPARAMS["n_vocab"], HPARAMS["n_ctx"], HPARAMS["n_embd"], HPARAMS["n_layer"]

    def w(*shape, scale=0.2):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    # OpenAI's names and shapes: Conv1D weights are [1, in, out]; norms are g (gain) and b (bias).
    params = {"model/wte": w(v, c), "model/wpe": w(n, c, scale=0.05),
              "model/ln_f/g": 1 + w(c, scale=0.1), "model/ln_f/b": w(c, scale=0.1)}
    for i in range(h):
        p = f"model/h{i}/"
        params.update({p + "ln_1/g": 1 + w(c, scale=0.1), p + "ln_1/b": w(c, scale=0.1),
                       p + "attn/c_attn/w": w(1, c, 3 * c), p + "attn/c_attn/b": w(3 * c, scale=0.1),
                       p + "attn/c_proj/w": w(1, c, c), p + "attn/c_proj/b": w(c, scale=0.1),
                       p + "ln_2/g": 1 + w(c, scale=0.1), p + "ln_2/b": w(c, scale=0.1),
                       p + "mlp/c_fc/w": w(1, c, 4 * c), p + "mlp/c_fc/b": w(4 * c, scale=0.1),
                       p + "mlp/c_proj/w": w(1, 4 * c, c), p + "mlp/c_proj/b": w(c, scale=0.1)})
    tf.compat.v1.disable_eager_execution()
    graph = tf.Graph()
    with graph.as_default():
        variables = [tf.compat.v1.get_variable(name, initializer=value) for name, value in params.items()]
        saver = tf.compat.v1.train.Saver(variables, write_version=tf.compat.v1.train.SaverDef.V2)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, os.path.join(TARGET, "model.ckpt"), write_meta_graph=False)
    # The checkpoint file names the prefix; make it relative, as in OpenAI's download.
    open(os.path.join(TARGET, "checkpoint"), "w").write('model_checkpoint_path: "model.ckpt"\nall_model_checkpoint_paths: "model.ckpt"\n')

    # A damaged copy: one byte of the data file flipped (the CRC must catch it).
    damaged = TARGET + "-damaged"
    shutil.rmtree(damaged, ignore_errors=True)
    shutil.copytree(TARGET, damaged)
    data = bytearray(open(os.path.join(damaged, "model.ckpt.data-00000-of-00001"), "rb").read())
    data[len(data) // 2] ^= 0x40
    open(os.path.join(damaged, "model.ckpt.data-00000-of-00001"), "wb").write(bytes(data))
    for name in ["encoder.json", "vocab.bpe"]:
        os.remove(os.path.join(damaged, name))

    # The book's loader (chapter 5, gpt_download.py), reading back through TensorFlow.
    ckpt_path = tf.train.latest_checkpoint(TARGET)
    loaded = load_gpt2_params_from_tf_ckpt(tf, ckpt_path, HPARAMS)
    flat = {}

    def flatten(prefix, d):
        for key, value in d.items():
            if isinstance(value, dict):
                flatten(prefix + key + "/", value)
            elif isinstance(value, list):
                for i, block in enumerate(value):
                    flatten(f"{prefix}{key}/{i}/", block)
            else:
                flat[prefix + key] = value

    flatten("", loaded)
    np.savez(PARAMS, **flat)
    print(f"wrote {TARGET} and {PARAMS}; now run the logits step with PyTorch")


def load_gpt2_params_from_tf_ckpt(tf, ckpt_path, settings):
    """The book's function (ch05/01_main-chapter-code/gpt_download.py)."""
    params = {"blocks": [{} for _ in range(settings["n_layer"])]}
    for name, _ in tf.train.list_variables(ckpt_path):
        variable_array = np.squeeze(tf.train.load_variable(ckpt_path, name))
        variable_name_parts = name.split("/")[1:]
        target_dict = params
        if variable_name_parts[0].startswith("h"):
            layer_number = int(variable_name_parts[0][1:])
            target_dict = params["blocks"][layer_number]
        for key in variable_name_parts[1:-1]:
            target_dict = target_dict.setdefault(key, {})
        target_dict[variable_name_parts[-1]] = variable_array
    return params


def logits():
    import torch
    import torch.nn as nn

    flat = dict(np.load(PARAMS))
    params = {"blocks": [{} for _ in range(HPARAMS["n_layer"])]}
    for key, value in flat.items():
        parts = key.split("/")
        target = params
        if parts[0] == "blocks":
            target = params["blocks"][int(parts[1])]
            parts = parts[2:]
        for p in parts[:-1]:
            target = target.setdefault(p, {})
        target[parts[-1]] = value

    # The book's model (chapter 4), unchanged in substance.
    class LayerNorm(nn.Module):
        def __init__(self, emb_dim):
            super().__init__()
            self.eps = 1e-5
            self.scale = nn.Parameter(torch.ones(emb_dim))
            self.shift = nn.Parameter(torch.zeros(emb_dim))

        def forward(self, x):
            mean = x.mean(dim=-1, keepdim=True)
            var = x.var(dim=-1, keepdim=True, unbiased=False)
            return self.scale * (x - mean) / torch.sqrt(var + self.eps) + self.shift

    class GELU(nn.Module):
        def forward(self, x):
            return 0.5 * x * (1 + torch.tanh(torch.sqrt(torch.tensor(2.0 / torch.pi)) * (x + 0.044715 * torch.pow(x, 3))))

    class MultiHeadAttention(nn.Module):
        def __init__(self, d_in, d_out, context_length, num_heads, qkv_bias):
            super().__init__()
            self.d_out, self.num_heads, self.head_dim = d_out, num_heads, d_out // num_heads
            self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
            self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
            self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
            self.out_proj = nn.Linear(d_out, d_out)
            self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1))

        def forward(self, x):
            b, num_tokens, _ = x.shape
            keys = self.W_key(x).view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)
            queries = self.W_query(x).view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)
            values = self.W_value(x).view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)
            scores = queries @ keys.transpose(2, 3)
            scores.masked_fill_(self.mask.bool()[:num_tokens, :num_tokens], -torch.inf)
            weights = torch.softmax(scores / keys.shape[-1] ** 0.5, dim=-1)
            context = (weights @ values).transpose(1, 2).contiguous().view(b, num_tokens, self.d_out)
            return self.out_proj(context)

    class TransformerBlock(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            e = cfg["emb_dim"]
            self.att = MultiHeadAttention(e, e, cfg["context_length"], cfg["n_heads"], cfg["qkv_bias"])
            self.ff = nn.Module()
            self.ff.layers = nn.Sequential(nn.Linear(e, 4 * e), GELU(), nn.Linear(4 * e, e))
            self.norm1, self.norm2 = LayerNorm(e), LayerNorm(e)

        def forward(self, x):
            x = x + self.att(self.norm1(x))
            return x + self.ff.layers(self.norm2(x))

    class GPTModel(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.tok_emb = nn.Embedding(cfg["vocab_size"], cfg["emb_dim"])
            self.pos_emb = nn.Embedding(cfg["context_length"], cfg["emb_dim"])
            self.trf_blocks = nn.Sequential(*[TransformerBlock(cfg) for _ in range(cfg["n_layers"])])
            self.final_norm = LayerNorm(cfg["emb_dim"])
            self.out_head = nn.Linear(cfg["emb_dim"], cfg["vocab_size"], bias=False)

        def forward(self, idx):
            x = self.tok_emb(idx) + self.pos_emb(torch.arange(idx.shape[1]))
            return self.out_head(self.final_norm(self.trf_blocks(x)))

    def assign(left, right):
        if left.shape != right.shape:
            raise ValueError(f"Shape mismatch. Left: {left.shape}, Right: {right.shape}")
        return torch.nn.Parameter(torch.tensor(right))

    def load_weights_into_gpt(gpt, params):
        """The book's function (chapter 5)."""
        gpt.pos_emb.weight = assign(gpt.pos_emb.weight, params["wpe"])
        gpt.tok_emb.weight = assign(gpt.tok_emb.weight, params["wte"])
        for b in range(len(params["blocks"])):
            blk, p = gpt.trf_blocks[b], params["blocks"][b]
            q_w, k_w, v_w = np.split(p["attn"]["c_attn"]["w"], 3, axis=-1)
            blk.att.W_query.weight = assign(blk.att.W_query.weight, q_w.T)
            blk.att.W_key.weight = assign(blk.att.W_key.weight, k_w.T)
            blk.att.W_value.weight = assign(blk.att.W_value.weight, v_w.T)
            q_b, k_b, v_b = np.split(p["attn"]["c_attn"]["b"], 3, axis=-1)
            blk.att.W_query.bias = assign(blk.att.W_query.bias, q_b)
            blk.att.W_key.bias = assign(blk.att.W_key.bias, k_b)
            blk.att.W_value.bias = assign(blk.att.W_value.bias, v_b)
            blk.att.out_proj.weight = assign(blk.att.out_proj.weight, p["attn"]["c_proj"]["w"].T)
            blk.att.out_proj.bias = assign(blk.att.out_proj.bias, p["attn"]["c_proj"]["b"])
            blk.ff.layers[0].weight = assign(blk.ff.layers[0].weight, p["mlp"]["c_fc"]["w"].T)
            blk.ff.layers[0].bias = assign(blk.ff.layers[0].bias, p["mlp"]["c_fc"]["b"])
            blk.ff.layers[2].weight = assign(blk.ff.layers[2].weight, p["mlp"]["c_proj"]["w"].T)
            blk.ff.layers[2].bias = assign(blk.ff.layers[2].bias, p["mlp"]["c_proj"]["b"])
            blk.norm1.scale = assign(blk.norm1.scale, p["ln_1"]["g"])
            blk.norm1.shift = assign(blk.norm1.shift, p["ln_1"]["b"])
            blk.norm2.scale = assign(blk.norm2.scale, p["ln_2"]["g"])
            blk.norm2.shift = assign(blk.norm2.shift, p["ln_2"]["b"])
        gpt.final_norm.scale = assign(gpt.final_norm.scale, params["g"])
        gpt.final_norm.shift = assign(gpt.final_norm.shift, params["b"])
        gpt.out_head.weight = assign(gpt.out_head.weight, params["wte"])

    cfg = {"vocab_size": HPARAMS["n_vocab"], "context_length": HPARAMS["n_ctx"], "emb_dim": HPARAMS["n_embd"],
           "n_heads": HPARAMS["n_head"], "n_layers": HPARAMS["n_layer"], "qkv_bias": True}
    gpt = GPTModel(cfg)
    load_weights_into_gpt(gpt, params)
    gpt.eval()
    with torch.no_grad():
        out = {"ids": IDS, "logits": [gpt(torch.tensor([ids])).squeeze(0).tolist() for ids in IDS],
               "hparams": HPARAMS, "made_by": f"torch {torch.__version__}, the book's GPTModel and load_weights_into_gpt"}
    json.dump(out, open(os.path.join(TARGET, "expected-logits.json"), "w"))
    print(f"wrote {TARGET}/expected-logits.json")


if __name__ == "__main__":
    {"write": write, "logits": logits}[sys.argv[1] if len(sys.argv) > 1 else "write"]()
