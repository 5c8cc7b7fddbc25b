#!/usr/bin/env python3
"""Plots scripts/bf16_vs_fp32.sh's runs: for each run, the per-step training loss and the evaluations of fp32 and
bf16 together in one SVG (DOCS/RUN.svg), and prints the largest gaps between the two precisions; writes them to
DOCS/results.json. Standard library only.

Usage: plot_bf16_vs_fp32.py RUNS_DIR DOCS_DIR"""
import glob
import json
import math
import os
import sys

runs_dir, docs = sys.argv[1], sys.argv[2]
os.makedirs(docs, exist_ok=True)
COLOURS = {"fp32": "#1f77b4", "bf16": "#e6550d"}


def state(run, precision):
    steps = sorted(glob.glob(os.path.join(runs_dir, f"{run}-{precision}", "checkpoints", "step-*")),
                   key=lambda p: int(p.rsplit("-", 1)[1]))
    with open(os.path.join(steps[-1], "trainer_state.json")) as f:
        return json.load(f)


def summary(run, precision):
    with open(os.path.join(runs_dir, f"{run}-{precision}.json")) as f:
        return json.loads(f.read().strip().splitlines()[-1])


def nice_ceiling(x):
    """The smallest round number at least x whose fifth is 1, 2, 2.5, 4 or 5 times a power of ten (five round x ticks)."""
    step = 10 ** math.floor(math.log10(x / 5))
    for m in (1, 2, 2.5, 4, 5, 10):
        if 5 * m * step >= x:
            return 5 * m * step
    return 50 * step


def svg(title, series, width=760, height=440):
    left, right, top, bottom = 64, 200, 36, 48
    xs = [x for s in series for x, _ in s["points"]]
    ys = [y for s in series for _, y in s["points"]]
    ystep = 1 if max(ys) <= 6 else 2
    x0, x1, y0, y1 = 0, nice_ceiling(max(xs)), 0.0, ystep * math.ceil(max(ys) / ystep)
    pw, ph = width - left - right, height - top - bottom
    px = lambda x: left + (x - x0) / (x1 - x0) * pw
    py = lambda y: top + (1 - (y - y0) / (y1 - y0)) * ph
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="14">{title}</text>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>']
    for i in range(int(y1 / ystep) + 1):
        y = i * ystep
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(y):.1f}" y2="{py(y):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:g}</text>')
    for i in range(6):
        x = x1 * i / 5
        out.append(f'<text x="{px(x):.1f}" y="{top + ph + 16}" text-anchor="middle">{x:g}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 10}" text-anchor="middle">optimizer steps</text>')
    out.append(f'<text x="16" y="{top + ph / 2}" transform="rotate(-90 16 {top + ph / 2})" text-anchor="middle">cross-entropy loss (nats)</text>')
    for i, s in enumerate(series):
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in s["points"])
        dash = ' stroke-dasharray="6 3"' if s["dashed"] else ""
        out.append(f'<polyline points="{points}" fill="none" stroke="{s["colour"]}" stroke-width="{s["width"]}"{dash}/>')
        ly = top + 14 + 18 * i
        out.append(f'<line x1="{left + pw + 12}" x2="{left + pw + 36}" y1="{ly - 4}" y2="{ly - 4}" stroke="{s["colour"]}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{left + pw + 42}" y="{ly}">{s["name"]}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


results = {}
for run, title in [("chapter5", "Chapter 5 run (124M, The Verdict): fp32 and bf16 matrix products"),
                   ("sms-124m", "124M, 200 steps of 2 × 256 on the SMS text: fp32 and bf16")]:
    if not glob.glob(os.path.join(runs_dir, f"{run}-bf16", "checkpoints", "step-*")):
        continue
    states = {p: state(run, p) for p in ("fp32", "bf16")}
    series, gaps = [], {}
    for p, st in states.items():
        steps = [(i + 1, loss) for i, (_, loss) in enumerate(st["history"])]
        series.append({"name": f"{p} train (each step)", "points": steps, "colour": COLOURS[p], "dashed": False, "width": 1})
        ev = [(e["step"], e["validationLoss"]) for e in st["evaluations"] if e.get("validationLoss") is not None]
        series.append({"name": f"{p} validation", "points": ev, "colour": COLOURS[p], "dashed": True, "width": 2})
    a, b = states["fp32"], states["bf16"]
    step_gaps = [abs(x[1] - y[1]) for x, y in zip(a["history"], b["history"])]
    val_gaps = [abs(x["validationLoss"] - y["validationLoss"]) for x, y in zip(a["evaluations"], b["evaluations"])
                if x.get("validationLoss") is not None]
    eval_train_gaps = [abs(x["trainLoss"] - y["trainLoss"]) for x, y in zip(a["evaluations"], b["evaluations"])]
    largest = max(range(len(step_gaps)), key=lambda i: step_gaps[i])
    results[run] = {
        "steps": len(step_gaps),
        "largest_step_loss_gap": round(step_gaps[largest], 4), "at_step": largest + 1,
        "largest_step_loss_gap_relative": round(step_gaps[largest] / a["history"][largest][1], 4),
        "largest_validation_gap": round(max(val_gaps), 4),
        "largest_eval_train_gap": round(max(eval_train_gaps), 4),
        "final": {p: {"train_eval": round(s["evaluations"][-1]["trainLoss"], 4),
                      "validation": round(s["evaluations"][-1]["validationLoss"], 4)} for p, s in states.items()},
        "tokens_per_second": {p: round(summary(run, p)["tokens_per_second"], 1) for p in states},
        "gemm_kernel": {p: summary(run, p).get("gemm_kernel") for p in states},
    }
    with open(os.path.join(docs, f"{run}.svg"), "w") as f:
        f.write(svg(title, series))
    print(run, json.dumps(results[run]))
with open(os.path.join(docs, "results.json"), "w") as f:
    json.dump(results, f, indent=1)
    f.write("\n")
