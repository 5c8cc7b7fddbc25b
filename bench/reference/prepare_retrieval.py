"""Inputs of bench/run retrieval, in bench/.cache/retrieval/ (float32, row after row):
  vectors.f32, queries.f32        100,000 random unit vectors of 384 dimensions (the width of all-MiniLM-L6-v2) and
                                  1,000 queries: the worst case for a graph index (every vector nearly orthogonal to
                                  every other; a query's best match has cosine about 0.2);
  structured.f32, structured-queries.f32
                                  the same counts with a structure like sentence embeddings': a random 16-dimensional
                                  subspace carries 16/17 of each vector's energy, isotropic noise the rest, scaled to unit
                                  length (a query's best match has cosine about 0.8, two random vectors about 0, roughly
                                  as related and unrelated sentences have with all-MiniLM-L6-v2);
  sms.txt                         the 5,574 SMS messages one a line (the texts of ../shared/data/SMSSpamCollection.tsv,
                                  tabs and newlines inside a message turned into spaces)."""
import os

import numpy as np

out = os.path.join(os.path.dirname(__file__), "..", ".cache", "retrieval")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
for name, rows in [("vectors.f32", 100_000), ("queries.f32", 1_000)]:
    path = os.path.join(out, name)
    if not os.path.exists(path):
        v = rng.standard_normal((rows, 384), dtype=np.float32)
        (v / np.linalg.norm(v, axis=1, keepdims=True)).astype("<f4").tofile(path)
basis = np.random.default_rng(8).standard_normal((16, 384), dtype=np.float32)
structure = np.random.default_rng(9)
for name, rows in [("structured.f32", 100_000), ("structured-queries.f32", 1_000)]:
    path = os.path.join(out, name)
    if not os.path.exists(path):
        v = structure.standard_normal((rows, 16), dtype=np.float32) @ basis + structure.standard_normal((rows, 384), dtype=np.float32)
        (v / np.linalg.norm(v, axis=1, keepdims=True)).astype("<f4").tofile(path)
sms = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "SMSSpamCollection.tsv")
if not os.path.exists(sms):
    sms = os.environ.get("SMS_DATA", sms)
with open(sms, encoding="utf-8") as f, open(os.path.join(out, "sms.txt"), "w", encoding="utf-8") as o:
    for line in f:
        text = line.rstrip("\n").split("\t", 1)[-1].replace("\t", " ").strip()
        if text:
            o.write(text + "\n")
print("wrote", out)
