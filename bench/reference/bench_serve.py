"""`bench/run serve`: `llm serve` on the GPT-2 124M random checkpoint (bench/.cache/gpt2-random), 2 threads,
driven over loopback by 1, 2, 4 and 8 concurrent streaming clients (128 new tokens each): aggregate generated
tokens/s, p50/p99 time to first token and inter-token latency, the server's peak memory. The reference is
transformers' `generate` with a static batch of the same size on the same weights and threads (what a Python
user has). Before the load, the official `openai` package is run against the server (scripts/check_openai_client.py).

Usage: bench_serve.py LLM_BINARY"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

here = os.path.dirname(os.path.abspath(__file__))
binary = sys.argv[1]
model_dir = os.path.join(here, "..", ".cache", "gpt2-random")
threads = int(os.environ.get("LLM_NUM_THREADS", "2"))
port = 18089
base = f"http://127.0.0.1:{port}"
prompt = "Every effort moves you toward the"
NEW = 128


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def stream_one(results, index):
    body = json.dumps({"prompt": prompt, "max_tokens": NEW, "temperature": 0.8, "seed": index, "stream": True,
                       "stream_options": {"include_usage": True}}).encode()
    request = urllib.request.Request(base + "/v1/completions", data=body, headers={"content-type": "application/json"})
    start = time.perf_counter()
    stamps, tokens = [], 0
    with urllib.request.urlopen(request, timeout=600) as response:
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
            elif chunk["choices"] and chunk["choices"][0]["text"]:
                stamps.append(time.perf_counter())
    results[index] = (start, stamps, tokens)


server = subprocess.Popen([binary, "serve", "--model", model_dir, "--port", str(port), "--max-batch", "8"],
                          env=dict(os.environ, LLM_NUM_THREADS=str(threads)), stderr=subprocess.PIPE, text=True)
try:
    for _ in range(600):
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            break
        except Exception:
            time.sleep(0.1)
    check = subprocess.run([sys.executable, os.path.join(here, "..", "..", "scripts", "check_openai_client.py"), base + "/v1"],
                           capture_output=True, text=True)
    print(check.stdout.strip() or check.stderr.strip(), file=sys.stderr)
    stream_one({}, 0)  # warm-up
    for clients in (1, 2, 4, 8):
        results = {}
        workers = [threading.Thread(target=stream_one, args=(results, i)) for i in range(clients)]
        wall = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        wall = time.perf_counter() - wall
        total = sum(r[2] for r in results.values())
        ttft = [r[1][0] - r[0] for r in results.values() if r[1]]
        itl = [b - a for r in results.values() for a, b in zip(r[1], r[1][1:])]
        print(json.dumps({"bench": "serve", "shape": "gpt2 124M", "variant": f"{clients} concurrent, {NEW} new tokens",
                          "impl": "llm (Swift+C)", "threads": threads, "tokens_per_s": total / wall,
                          "ttft_p50_ms": 1000 * percentile(ttft, 50), "ttft_p99_ms": 1000 * percentile(ttft, 99),
                          "itl_p50_ms": 1000 * percentile(itl, 50), "itl_p99_ms": 1000 * percentile(itl, 99)}), flush=True)
    peak_kb = next(int(l.split()[1]) for l in open(f"/proc/{server.pid}/status") if l.startswith("VmHWM"))
    print(f"llm serve peak resident memory: {peak_kb / 1e6:.2f} GB", file=sys.stderr)
finally:
    server.send_signal(signal.SIGTERM)
    code = server.wait(timeout=60)
    print(f"llm serve exited with {code} after SIGTERM", file=sys.stderr)

# The reference: transformers' generate with a static batch (every row padded to the same length).
import resource  # noqa: E402

import torch  # noqa: E402
from transformers import GPT2LMHeadModel, GPT2TokenizerFast  # noqa: E402

torch.set_num_threads(threads)
model = GPT2LMHeadModel.from_pretrained(model_dir).eval()
ids = torch.tensor([[6109, 3626, 6100, 345, 1863, 262]])
for batch in (1, 2, 4, 8):
    inputs = ids.repeat(batch, 1)
    with torch.no_grad():
        model.generate(inputs, attention_mask=torch.ones_like(inputs), max_new_tokens=8, do_sample=False, pad_token_id=0)
        start = time.perf_counter()
        out = model.generate(inputs, attention_mask=torch.ones_like(inputs), max_new_tokens=NEW, min_new_tokens=NEW,
                             do_sample=True, temperature=0.8, pad_token_id=0)
        seconds = time.perf_counter() - start
    print(json.dumps({"bench": "serve", "shape": "gpt2 124M", "variant": f"{batch} concurrent, {NEW} new tokens",
                      "impl": f"transformers generate (static batch)", "threads": threads,
                      "tokens_per_s": batch * (out.shape[1] - ids.shape[1]) / seconds,
                      "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}), flush=True)
