"""llama.cpp's side of `bench/run generate`, through llama-cpp-python (which builds llama.cpp from source;
bench/run installs it into bench/.venv-llama): the GGUF files *our* exporter wrote
(bench/.cache/MODEL-random-TYPE.gguf), greedy decoding of 128 new tokens at batch 1 and a 512-token prefill,
on 1 and 2 threads. Usage: bench_llamacpp.py MODEL TYPE."""
import json
import os
import random
import resource
import sys

from llama_cpp import Llama

from common import timed

name, wtype = sys.argv[1], sys.argv[2]
label = "gpt2 124M" if name == "gpt2" else name
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".cache", f"{name}-random-{wtype}.gguf")
random.seed(3)
long_prompt = [random.randrange(50257) for _ in range(512)]  # ids every benchmarked vocabulary has


for threads in (1, 2):
    llm = Llama(model_path=path, n_threads=threads, n_threads_batch=threads, n_ctx=1024, n_batch=512, verbose=False)
    prompt = llm.tokenize(b"Every effort moves you toward the", add_bos=False)
    produced = []

    def decode():
        llm.reset()
        produced.clear()
        for token in llm.generate(prompt, top_k=1, temp=0.0, reset=True):
            produced.append(token)
            if len(produced) == 128:
                break

    def prefill():
        llm.reset()
        llm.eval(long_prompt)

    repeats = 1 if name == "gpt2-xl" else 3
    seconds = timed(decode, repeats)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(json.dumps({"bench": "generate", "shape": label, "variant": f"decode {wtype}, {threads} thread(s)",
                      "impl": "llama.cpp (llama-cpp-python)", "threads": threads, "seconds": seconds,
                      "tokens_per_s": len(produced) / seconds, "peak_rss_gb": rss}), flush=True)
    seconds = timed(prefill, repeats)
    print(json.dumps({"bench": "generate", "shape": label, "variant": f"prefill 512 {wtype}, {threads} thread(s)",
                      "impl": "llama.cpp (llama-cpp-python)", "threads": threads, "seconds": seconds,
                      "tokens_per_s": 512 / seconds, "peak_rss_gb": rss}), flush=True)
    del llm
