"""bench/run distributed: data-parallel training under Open MPI against one process, on the same machine.

GPT-2 124M, context 256, a global batch of 16 windows of The Verdict (embedded in llm): one process with 2 threads
against mpirun -np 2 with 1 thread each (8 windows per process), gradients summed during the backward pass,
for comparison after it, and with --zero 1 (AdamW's moments sharded; peak memory per process is the point). Throughput is the global batch's tokens over the median step time (llm train --json:
forward, backward, gradient sums and the update; the first step and the evaluation excluded). Prints JSON rows for
compare.py, and to stderr the time steps waited for gradient sums with and without overlap.

Usage: bench_distributed.py PATH_TO_LLM"""
import json
import os
import subprocess
import sys
import tempfile

llm = sys.argv[1]
STEPS = 8
common = ["train", "--preset", "gpt2", "--context-length", "256", "--epochs", "1000", "--max-steps", str(STEPS),
          "--eval-every", "1000", "--eval-batches", "1", "--save-every", "1000", "--dropout", "0", "--json"]
mpirun = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-x", "LLM_NUM_THREADS", "-np", "2"]


def run(command, threads, work, name):
    env = dict(os.environ, LLM_NUM_THREADS=str(threads))
    out = subprocess.run(command + ["--output", os.path.join(work, name)], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{name} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


with tempfile.TemporaryDirectory() as work:
    print("one process, 2 threads...", file=sys.stderr)
    one = run([llm] + common + ["--batch-size", "16"], 2, work, "one")
    print("2 processes x 1 thread, sums during the backward pass...", file=sys.stderr)
    overlap = run(mpirun + [llm] + common + ["--batch-size", "8"], 1, work, "overlap")
    print("2 processes x 1 thread, sums after the backward pass...", file=sys.stderr)
    after = run(mpirun + [llm] + common + ["--batch-size", "8", "--no-overlap-communication"], 1, work, "after")
    print("2 processes x 1 thread, --zero 1 (AdamW's moments sharded)...", file=sys.stderr)
    zero = run(mpirun + [llm] + common + ["--batch-size", "8", "--zero", "1"], 1, work, "zero")

tokens = 16 * 256
shape = "GPT-2 124M, T=256, global batch 16"
rows = [
    {"bench": "distributed", "shape": shape, "variant": "training step", "impl": "llm (Swift+C)", "threads": 2,
     "tokens_per_s": tokens / overlap["median_step_seconds"], "peak_rss_gb": overlap["peak_rss_gb_steps"]},
    {"bench": "distributed", "shape": shape, "variant": "training step", "impl": "llm, one process (2 threads)",
     "threads": 2, "tokens_per_s": tokens / one["median_step_seconds"], "peak_rss_gb": one["peak_rss_gb_steps"]},
    {"bench": "distributed", "shape": shape, "variant": "training step, sums after backward", "impl": "llm (Swift+C)",
     "threads": 2, "tokens_per_s": tokens / after["median_step_seconds"], "peak_rss_gb": after["peak_rss_gb_steps"]},
    {"bench": "distributed", "shape": shape, "variant": "training step, sums after backward",
     "impl": "llm, one process (2 threads)", "threads": 2, "tokens_per_s": tokens / one["median_step_seconds"],
     "peak_rss_gb": one["peak_rss_gb_steps"]},
    {"bench": "distributed", "shape": shape, "variant": "training step, --zero 1", "impl": "llm (Swift+C)",
     "threads": 2, "tokens_per_s": tokens / zero["median_step_seconds"], "peak_rss_gb": zero["peak_rss_gb_steps"]},
    {"bench": "distributed", "shape": shape, "variant": "training step, --zero 1",
     "impl": "llm, one process (2 threads)", "threads": 2, "tokens_per_s": tokens / one["median_step_seconds"],
     "peak_rss_gb": one["peak_rss_gb_steps"]},
]
for r in rows:
    print(json.dumps(r))
for name, r in (("during backward", overlap), ("after backward", after), ("during backward, --zero 1", zero)):
    wait = r["communication_wait_seconds"] / STEPS
    print(f"2 processes, sums {name}: median step {r['median_step_seconds']:.2f} s, waiting for sums "
          f"{wait:.3f} s per step ({100 * wait / r['median_step_seconds']:.1f} % of the step), "
          f"peak memory per process {r['peak_rss_gb_steps']:.2f} GB during the steps, {r['peak_rss_gb']:.2f} GB with "
          f"the last evaluation and save", file=sys.stderr)
exposed, blocking = overlap["communication_wait_seconds"], after["communication_wait_seconds"]
if blocking > 0:
    print(f"overlap: {100 * (1 - exposed / blocking):.0f} % of the sums' time after the backward pass is hidden "
          f"behind it", file=sys.stderr)
print(f"one process: median step {one['median_step_seconds']:.2f} s, peak memory {one['peak_rss_gb_steps']:.2f} GB "
      f"during the steps, {one['peak_rss_gb']:.2f} GB with the last evaluation and save",
      file=sys.stderr)
