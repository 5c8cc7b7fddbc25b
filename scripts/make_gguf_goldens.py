"""GGUF fixtures written by the reference `gguf` package (llama.cpp's own Python library), for
Tests/Fixtures/gguf/:

  tiny-{f32,f16,bf16,q8_0}.gguf  the tiny-gpt2-untied checkpoint (transformers' weights) with llama.cpp's
                                 GPT-2 tensor names, written by gguf.GGUFWriter; matrices quantized by
                                 gguf.quants.quantize (ggml's reference quantizer), the rest F32 — the way
                                 llama.cpp's convert_hf_to_gguf.py lays out a GPT-2
  ../CKernelsTests/Resources/q8_0-blocks.json  the first q8_0 blocks of one matrix as bytes (scale + quants), and the
                                 dequantized values, to compare our quantizer with ggml's bit for bit

Our tests load these with our reader and check every matrix against our own conversion of the same
safetensors weights (bit-identical), and the logits against transformers' (reference.json).
Run by hand: python scripts/make_gguf_goldens.py   (needs gguf, numpy, safetensors)
"""
import json
import os

import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter, LlamaFileType
from gguf.quants import dequantize, quantize
from safetensors.numpy import load_file

here = os.path.dirname(os.path.abspath(__file__))
source = os.path.join(here, "..", "Tests", "Fixtures", "tiny-gpt2-untied")
target = os.path.join(here, "..", "Tests", "Fixtures", "gguf")
os.makedirs(target, exist_ok=True)

config = json.load(open(os.path.join(source, "config.json")))
weights = {k.removeprefix("transformer."): v for k, v in load_file(os.path.join(source, "model.safetensors")).items()}
C, L = config["n_embd"], config["n_layer"]

TYPES = {
    "f32": (GGMLQuantizationType.F32, LlamaFileType.ALL_F32),
    "f16": (GGMLQuantizationType.F16, LlamaFileType.MOSTLY_F16),
    "bf16": (GGMLQuantizationType.BF16, LlamaFileType.MOSTLY_BF16),
    "q8_0": (GGMLQuantizationType.Q8_0, LlamaFileType.MOSTLY_Q8_0),
}


def tensors():
    """(llama.cpp name, fp32 array with rows = outputs, is_matrix) in the converter's order."""
    yield "token_embd.weight", weights["wte.weight"], True
    yield "position_embd.weight", weights["wpe.weight"], False  # kept F32 (small; ours too)
    for i in range(L):
        h = f"h.{i}."
        yield f"blk.{i}.attn_norm.weight", weights[h + "ln_1.weight"], False
        yield f"blk.{i}.attn_norm.bias", weights[h + "ln_1.bias"], False
        # GPT-2's Conv1D stores (in, out); GGUF rows are outputs, so transpose (as the converter does).
        yield f"blk.{i}.attn_qkv.weight", weights[h + "attn.c_attn.weight"].T.copy(), True
        yield f"blk.{i}.attn_qkv.bias", weights[h + "attn.c_attn.bias"], False
        yield f"blk.{i}.attn_output.weight", weights[h + "attn.c_proj.weight"].T.copy(), True
        yield f"blk.{i}.attn_output.bias", weights[h + "attn.c_proj.bias"], False
        yield f"blk.{i}.ffn_norm.weight", weights[h + "ln_2.weight"], False
        yield f"blk.{i}.ffn_norm.bias", weights[h + "ln_2.bias"], False
        yield f"blk.{i}.ffn_up.weight", weights[h + "mlp.c_fc.weight"].T.copy(), True
        yield f"blk.{i}.ffn_up.bias", weights[h + "mlp.c_fc.bias"], False
        yield f"blk.{i}.ffn_down.weight", weights[h + "mlp.c_proj.weight"].T.copy(), True
        yield f"blk.{i}.ffn_down.bias", weights[h + "mlp.c_proj.bias"], False
    yield "output_norm.weight", weights["ln_f.weight"], False
    yield "output_norm.bias", weights["ln_f.bias"], False
    yield "output.weight", weights["lm_head.weight"], True


for name, (qtype, ftype) in TYPES.items():
    path = os.path.join(target, f"tiny-{name}.gguf")
    w = GGUFWriter(path, "gpt2")
    w.add_name("tiny-gpt2-untied")
    w.add_context_length(config["n_positions"])
    w.add_embedding_length(C)
    w.add_feed_forward_length(4 * C)
    w.add_block_count(L)
    w.add_head_count(config["n_head"])
    w.add_layer_norm_eps(config["layer_norm_epsilon"])
    w.add_file_type(ftype)
    for tname, array, is_matrix in tensors():
        array = np.ascontiguousarray(array, dtype=np.float32)
        if is_matrix and qtype != GGMLQuantizationType.F32:
            data = quantize(array, qtype)
            w.add_tensor(tname, data, raw_shape=data.shape, raw_dtype=qtype)
        else:
            w.add_tensor(tname, array)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print("wrote", path, os.path.getsize(path), "bytes")

# ggml's q8_0 blocks for the first rows of blk.0.attn_qkv.weight, and their values.
qkv = np.ascontiguousarray(weights["h.0.attn.c_attn.weight"].T, dtype=np.float32)[:4]
blocks = quantize(qkv, GGMLQuantizationType.Q8_0)
json.dump({"source": qkv.flatten().tolist(), "rows": 4, "cols": int(qkv.shape[1]),
           "bytes": blocks.flatten().tolist(),
           "dequantized": dequantize(blocks, GGMLQuantizationType.Q8_0).flatten().tolist()},
          open(os.path.join(here, "..", "Tests", "CKernelsTests", "Resources", "q8_0-blocks.json"), "w"))
print("wrote q8_0-blocks.json")
