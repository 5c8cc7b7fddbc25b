"""Goldens for ggml's block types, made by gguf-py (pip install gguf), llama.cpp's own Python library:

  Tests/CKernelsTests/Resources/ggml-blocks.json
      for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL and IQ4_XS: random blocks (random
      bits, the fp16 scales drawn from ±[1e-4, 4]) and edge blocks (all zero bytes; the largest fp16 scale with
      random quants; negative scales; a subnormal scale), as bytes, and gguf.quants.dequantize's fp32 values as
      bit patterns, so our dequantisers are checked bit for bit.
  Tests/Fixtures/gguf/tiny-mixed.gguf, tiny-mixed-dequantized.gguf
      the tiny-f32.gguf model with its matrices quantised by gguf.quants.quantize, a different type each
      (Q4_0, Q4_1, Q5_0, Q5_1 in turn, as llama.cpp's mixes vary the type by tensor), and the same model with
      those matrices as gguf-py dequantises them, in F32: the two must load to the same weights and logits.
Run from the repository root: python3 scripts/make_ggml_block_goldens.py
"""
import json
import os

import numpy as np
from gguf import GGMLQuantizationType as T, GGUFReader, GGUFValueType, GGUFWriter
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize, quantize

root = os.path.join(os.path.dirname(__file__), "..")
rng = np.random.default_rng(2026)

# Where each type keeps its fp16 scales (byte offsets in a block).
SCALES = {T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0], T.IQ4_NL: [0],
          T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208], T.IQ4_XS: [0]}


def with_scales(block, values):
    block = block.copy()
    for offset, v in zip(SCALES_FOR, values):
        block[offset:offset + 2] = np.frombuffer(np.float16(v).tobytes(), dtype=np.uint8)
    return block


out = {}
for qtype, offsets in SCALES.items():
    SCALES_FOR = offsets
    values, size = GGML_QUANT_SIZES[qtype]
    blocks = []
    for _ in range(24):
        b = rng.integers(0, 256, size, dtype=np.uint8)
        blocks.append(with_scales(b, rng.choice([-1, 1], len(offsets)) * np.exp(rng.uniform(np.log(1e-4), np.log(4), len(offsets)))))
    blocks.append(np.zeros(size, dtype=np.uint8))
    blocks.append(with_scales(rng.integers(0, 256, size, dtype=np.uint8), [65504.0] * len(offsets)))
    blocks.append(with_scales(rng.integers(0, 256, size, dtype=np.uint8), [-0.75] * len(offsets)))
    blocks.append(with_scales(rng.integers(0, 256, size, dtype=np.uint8), [np.float16(6e-8)] * len(offsets)))
    data = np.stack(blocks)
    result = dequantize(data, qtype).astype(np.float32).reshape(-1)
    out[qtype.name] = {"type": int(qtype), "block_values": values, "block_bytes": size,
                       "bytes": data.reshape(-1).tolist(), "values_bits": result.view(np.uint32).tolist()}
path = os.path.join(root, "Tests", "CKernelsTests", "Resources", "ggml-blocks.json")
json.dump(out, open(path, "w"))
print("wrote", path)

# A tiny GPT-2 with a mix of block types, and its dequantised twin.
source = GGUFReader(os.path.join(root, "Tests", "Fixtures", "gguf", "tiny-f32.gguf"))
mix = [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]
for name, dequantized in [("tiny-mixed", False), ("tiny-mixed-dequantized", True)]:
    target = os.path.join(root, "Tests", "Fixtures", "gguf", name + ".gguf")
    w = GGUFWriter(target, "gpt2")
    for key, field in source.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        w.add_key_value(key, field.contents(), field.types[0])
    matrices = 0
    for t in source.tensors:
        array = np.ascontiguousarray(t.data, dtype=np.float32)
        if array.ndim == 2 and t.name != "position_embd.weight":
            qtype = mix[matrices % len(mix)]
            matrices += 1
            blocks = quantize(array, qtype)
            if dequantized:
                w.add_tensor(t.name, dequantize(blocks, qtype).astype(np.float32).reshape(array.shape))
            else:
                w.add_tensor(t.name, blocks, raw_shape=blocks.shape, raw_dtype=qtype)
        else:
            w.add_tensor(t.name, array)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print("wrote", target, os.path.getsize(target), "bytes")
