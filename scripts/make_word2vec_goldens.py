"""word2vec goldens made by gensim 4 (pip install gensim scipy), for Tests/Fixtures/word2vec/:

  corpus.txt              The Verdict (public domain), lower-cased, punctuation split off, a sentence a line
  gensim-vocab.json       gensim's vocabulary of it (min_count=2): words in gensim's order, counts, the
                          subsampling thresholds (sample_int, sample=1e-3) and the noise table (cum_table)
  gensim-vectors.txt/.bin vectors gensim trained on it (16 dimensions, skip-gram), saved by
                          save_word2vec_format in its text and binary formats
  analogies.txt, pairs.tsv  small questions-words / WordSim-style files over the corpus's words
  gensim-evaluation.json  gensim's evaluate_word_analogies and evaluate_word_pairs of those vectors
  synthetic.txt, synthetic-analogies.txt, synthetic-evaluation.json
                          random vectors with planted analogies (some exact, some noisy, words in two
                          casings, one past the restriction) and gensim's evaluation of them

Our tests read gensim's files, rebuild the vocabulary and tables and evaluate the same vectors, and
compare. Run from the repository root: python3 scripts/make_word2vec_goldens.py
"""
import json
import os
import re

import numpy as np
from gensim.models import Word2Vec, KeyedVectors

root = os.path.join(os.path.dirname(__file__), "..")
out = os.path.join(root, "Tests", "Fixtures", "word2vec")
os.makedirs(out, exist_ok=True)

text = open(os.path.join(root, "Sources", "LLMCommand", "Resources", "the-verdict.txt"), encoding="utf-8").read().lower()
sentences = []
for sentence in re.split(r"(?<=[.!?])\s+", text):
    words = re.findall(r"[a-z']+|[^\sa-z']", sentence)
    if words:
        sentences.append(words)
with open(os.path.join(out, "corpus.txt"), "w", encoding="utf-8") as f:
    for s in sentences:
        f.write(" ".join(s) + "\n")

model = Word2Vec(vector_size=16, window=5, min_count=2, sample=1e-3, negative=5, sg=1, seed=1, workers=1, epochs=5)
model.build_vocab(sentences)
wv = model.wv
json.dump({
    "min_count": 2, "sample": 1e-3,
    "words": wv.index_to_key,
    "counts": [int(wv.get_vecattr(w, "count")) for w in wv.index_to_key],
    "sample_int": [int(wv.get_vecattr(w, "sample_int")) for w in wv.index_to_key],
    "cum_table": [int(x) for x in model.cum_table],
}, open(os.path.join(out, "gensim-vocab.json"), "w"))

model.train(sentences, total_examples=len(sentences), epochs=model.epochs)
wv.save_word2vec_format(os.path.join(out, "gensim-vectors.txt"), binary=False)
wv.save_word2vec_format(os.path.join(out, "gensim-vectors.bin"), binary=True)

analogies = """: pronouns
he him she her
he his she her
him he her she
: verbs
is was are were
have had has had
: unknown
he him zebra zebras
"""
pairs = """# word1\tword2\tscore
he\tshe\t8.5
he\thim\t7.0
his\ther\t8.0
picture\tpainting\t9.0
picture\the\t1.5
gisburn\tstroud\t5.0
the\ta\t6.0
was\tis\t8.0
zebra\the\t1.0
"""
open(os.path.join(out, "analogies.txt"), "w").write(analogies)
open(os.path.join(out, "pairs.tsv"), "w").write(pairs)

loaded = KeyedVectors.load_word2vec_format(os.path.join(out, "gensim-vectors.txt"), binary=False)
score, sections = loaded.evaluate_word_analogies(os.path.join(out, "analogies.txt"))
pearson, spearman, oov = loaded.evaluate_word_pairs(os.path.join(out, "pairs.tsv"))
json.dump({
    "analogies": [{"section": s["section"], "correct": len(s["correct"]), "incorrect": len(s["incorrect"])} for s in sections],
    "accuracy": score,
    "spearman": float(spearman.statistic), "pearson": float(pearson.statistic), "pairs_oov_percent": float(oov),
    "similar_to_he": [[w, float(s)] for w, s in loaded.most_similar("he", topn=5)],
}, open(os.path.join(out, "gensim-evaluation.json"), "w"), indent=1)
# Planted analogies: b = a + offset_k (+ noise for some), so 3CosAdd finds some and misses others.
rng = np.random.default_rng(7)
dim, base = 8, [f"w{i}" for i in range(30)]
vectors = {w: rng.normal(size=dim) for w in base}
offsets = [rng.normal(size=dim) * 1.5 for _ in range(3)]
questions, pairs_of = [], []
for k, offset in enumerate(offsets):
    members = [f"s{k}a{i}" for i in range(4)]
    for i, m in enumerate(members):
        vectors[m] = rng.normal(size=dim)
        noise = rng.normal(size=dim) * (0.0 if i < 2 else 2.5)
        vectors[m.replace("a", "b")] = vectors[m] + offset + noise
    pairs_of.append(members)
words = list(vectors)
words.insert(5, "W3")  # a second spelling of w3, more frequent (earlier), which case-insensitive lookups use
vectors["W3"] = rng.normal(size=dim)
words.append("late")   # beyond restrict_vocab below
vectors["late"] = vectors["s0b0"] * 1.0001
kv = KeyedVectors(dim)
kv.add_vectors(words, np.array([vectors[w] for w in words], dtype=np.float32))
kv.save_word2vec_format(os.path.join(out, "synthetic.txt"), binary=False)
lines = []
for k, members in enumerate(pairs_of):
    lines.append(f": offset {k}")
    for a in members:
        for c in members:
            if a != c:
                lines.append(f"{a} {a.replace('a', 'b')} {c} {c.replace('a', 'b')}")
lines.append(": casing and unknown")
lines.append("W3 w4 w5 w6")
lines.append("w3 w4 w5 w6")
lines.append("s0a0 s0b0 nothere s0b1")
open(os.path.join(out, "synthetic-analogies.txt"), "w").write("\n".join(lines) + "\n")
synthetic = KeyedVectors.load_word2vec_format(os.path.join(out, "synthetic.txt"), binary=False)
restrict = len(words) - 1
score, sections = synthetic.evaluate_word_analogies(os.path.join(out, "synthetic-analogies.txt"), restrict_vocab=restrict)
json.dump({
    "restrict_vocab": restrict,
    "analogies": [{"section": s["section"], "correct": len(s["correct"]), "incorrect": len(s["incorrect"])} for s in sections],
    "accuracy": score,
}, open(os.path.join(out, "synthetic-evaluation.json"), "w"), indent=1)
print("wrote", out)
