"""Inputs of bench/run retrieval, in bench/.cache/retrieval/: 100,000 random unit vectors of 384 dimensions (the
width of all-MiniLM-L6-v2) and 1,000 queries (float32, row after row), and the 5,574 SMS messages one a line (the
texts of ../shared/data/SMSSpamCollection.tsv, tabs and newlines inside a message turned into spaces)."""
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
sms = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "SMSSpamCollection.tsv")
if not os.path.exists(sms):
    sms = os.environ.get("SMS_DATA", sms)
with open(sms, encoding="utf-8") as f, open(os.path.join(out, "sms.txt"), "w", encoding="utf-8") as o:
    for line in f:
        text = line.rstrip("\n").split("\t", 1)[-1].replace("\t", " ").strip()
        if text:
            o.write(text + "\n")
print("wrote", out)
