"""bench/run word2vec: `llm word2vec` against gensim 4 on the same corpus and settings, 2 threads.

The corpus is prepare_word2vec.py's (0.84 million words of Wikipedia text that gensim's wheel ships as test
data). Five epochs, gensim's defaults
otherwise (100 dimensions, window 5, min_count 5, negative 5, sample 1e-3). For each of skip-gram and CBOW
and each of 3 seeds:
  ours      the whole `llm word2vec train` process (reading, vocabulary, training, writing both files);
  gensim    Word2Vec(...) from the constructor to the trained model (vocabulary and training; nothing written),
            with a LineSentence iterable and with corpus_file (gensim's faster multi-worker path).
words/s = corpus words × epochs / seconds, median of the seeds. Quality: the analogy accuracy
(questions-words.txt) and WordSim-353 Spearman rho that gensim's evaluate_word_analogies /
evaluate_word_pairs give each side's vectors, mean ± spread over the seeds.

Usage: bench_word2vec.py PATH_TO_LLM"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from gensim.models import KeyedVectors, Word2Vec
from gensim.models.word2vec import LineSentence
from gensim.test.utils import datapath

llm = sys.argv[1]
EPOCHS, SEEDS, THREADS = 5, [1, 2, 3], 2
corpus = os.path.join(os.path.dirname(__file__), "..", ".cache", "word2vec-corpus.txt")
if not os.path.exists(corpus):
    subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "prepare_word2vec.py")], check=True)
words = sum(len(line.split()) for line in open(corpus, encoding="utf-8"))
print(f"corpus: {words:,} words", file=sys.stderr)


def quality(kv):
    accuracy, _ = kv.evaluate_word_analogies(datapath("questions-words.txt"))
    _, spearman, _ = kv.evaluate_word_pairs(datapath("wordsim353.tsv"))
    return accuracy, float(spearman.statistic)


def summary(values):
    return f"{statistics.mean(values):.4f} ± {(max(values) - min(values)) / 2:.4f}"


rows = []
shape = f"{words / 1e6:.2f}M words x {EPOCHS} epochs, 100-d"
for sg, variant in [(1, "skip-gram"), (0, "CBOW")]:
    results = {"llm (Swift+C)": [], "gensim (LineSentence)": [], "gensim (corpus_file)": []}
    for seed in SEEDS:
        with tempfile.TemporaryDirectory() as work:
            command = [llm, "word2vec", "--data", corpus, "--output", work, "--epochs", str(EPOCHS), "--seed", str(seed),
                       "--threads", str(THREADS), "--skip-gram" if sg else "--cbow"]
            start = time.perf_counter()
            run = subprocess.run(command, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            if run.returncode != 0:
                sys.exit(run.stderr[-2000:])
            results["llm (Swift+C)"].append((seconds, quality(KeyedVectors.load_word2vec_format(os.path.join(work, "vectors.txt")))))
        for name, kwargs in [("gensim (LineSentence)", {"sentences": LineSentence(corpus)}), ("gensim (corpus_file)", {"corpus_file": corpus})]:
            start = time.perf_counter()
            model = Word2Vec(sg=sg, workers=THREADS, seed=seed, epochs=EPOCHS, **kwargs)
            seconds = time.perf_counter() - start
            results[name].append((seconds, quality(model.wv)))
        print(f"{variant} seed {seed}: " + ", ".join(f"{k} {v[-1][0]:.2f} s" for k, v in results.items()), file=sys.stderr)
    for name, runs in results.items():
        seconds = statistics.median(r[0] for r in runs)
        rows.append({"bench": "word2vec", "shape": shape, "variant": variant, "impl": name, "threads": THREADS,
                     "words_per_s": words * EPOCHS / seconds,
                     "quality": {"analogy_accuracy": summary([r[1][0] for r in runs]),
                                 "wordsim353_spearman": summary([r[1][1] for r in runs])}})
for r in rows:
    print(json.dumps(r))
