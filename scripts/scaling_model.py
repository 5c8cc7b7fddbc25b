#!/usr/bin/env python3
"""The scaling model of docs/DISTRIBUTED.md: data-parallel efficiency of `mpirun -np N llm train` on N hosts.

Per step each host computes for T_c seconds (forward + backward + update of its share of the batch) and the hosts
all-reduce G bytes of gradients. A ring all-reduce sends and receives 2(N-1)/N * G bytes per host and takes 2(N-1)
latency-bound rounds per bucket:
    T_ar = 2(N-1)/N * G / bandwidth + 2(N-1) * buckets * latency
Sums start while the backward pass (about 2/3 of T_c) runs, but the last bucket (GPT-2's tied token embedding, 31 %
of its gradient bytes: its gradient is complete only when the pass reaches the embedding, its last operation)
cannot overlap:
    exposed = max(last * T_ar, T_ar - 2/3 * T_c)        (without overlap: exposed = T_ar)
    efficiency = T_c / (T_c + exposed); speed-up = N * efficiency
--zero 1 moves the same bytes (a reduce-scatter and an all-gather are an all-reduce), so it changes memory, not this.

Usage: scaling_model.py STEP_SECONDS [GRADIENT_MB] [LAST_BUCKET_FRACTION]   (prints a Markdown table)"""
import sys

step = float(sys.argv[1])
gradient = float(sys.argv[2]) * 1e6 if len(sys.argv) > 2 else 124_439_808 * 4  # GPT-2 124M, fp32
last = float(sys.argv[3]) if len(sys.argv) > 3 else 38_597_376 / 124_439_808  # wte / all parameters
buckets = max(1, round(gradient / 25e6))
latency = 50e-6  # a TCP round on a LAN, seconds
networks = [("10 Gb/s", 10e9 / 8), ("25 Gb/s", 25e9 / 8), ("100 Gb/s", 100e9 / 8)]
print("| N | " + " | ".join(f"{name}: overlap / none" for name, _ in networks) + " |")
print("|---|" + "---|" * len(networks))
for n in (2, 4, 8, 16, 32, 64):
    cells = []
    for _, bandwidth in networks:
        allreduce = 2 * (n - 1) / n * gradient / bandwidth + 2 * (n - 1) * buckets * latency
        exposed = max(last * allreduce, allreduce - 2 / 3 * step)
        cells.append(f"{100 * step / (step + exposed):.0f} % / {100 * step / (step + allreduce):.0f} %")
    print(f"| {n} | " + " | ".join(cells) + " |")
