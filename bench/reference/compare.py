"""Joins the JSON rows of our benchmark and the references' into one table (or JSON list) with
ratio = our throughput / the strongest reference's throughput for the same row. The throughput is
whichever figure the rows carry: gflops, mb_per_s, tokens_per_s or examples_per_s (higher is better for all)."""
import json
import sys
from collections import OrderedDict

METRICS = {"gflops": "GFLOP/s", "mb_per_s": "MB/s", "tokens_per_s": "tokens/s", "examples_per_s": "examples/s",
           "words_per_s": "words/s", "queries_per_s": "queries/s", "texts_per_s": "texts/s",
           "vectors_per_s": "vectors/s"}
OURS = "llm (Swift+C)"
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip().startswith("{")]
as_json = "--json" in sys.argv
groups = OrderedDict()
for r in rows:
    groups.setdefault((r["shape"], r["variant"]), {})[r["impl"]] = r

table = []
for (shape, variant), impls in groups.items():
    ours = impls.get(OURS)
    # Our own composed-ops rows are shown beside the references but are not one.
    refs = {k: v for k, v in impls.items() if k != OURS and not k.startswith("llm ")}
    extra = {k: v for k, v in impls.items() if k.startswith("llm ") and k != OURS}
    if not ours or not refs:
        continue
    metric = next(m for m in METRICS if m in ours)
    best = max(refs.values(), key=lambda r: r[metric])
    row = {"bench": ours["bench"], "shape": shape, "variant": variant, "metric": metric,
           "ours": round(ours[metric], 2), "ours_threads": ours["threads"]}
    for name, r in list(refs.items()) + list(extra.items()):
        row[name] = round(r[metric], 2)
    row["strongest_reference"] = best["impl"]
    row["ratio"] = round(ours[metric] / best[metric], 3)
    # Peak resident memory (getrusage: the process's maximum so far, so a later, larger row includes
    # the earlier ones), where both sides report it.
    if "peak_rss_gb" in ours and "peak_rss_gb" in best:
        row["peak_rss_gb"] = {"ours": round(ours["peak_rss_gb"], 2), best["impl"]: round(best["peak_rss_gb"], 2)}
    # Latencies (bench serve), weight bandwidth (bench generate) and the share of the measured multiply-add peak
    # (bench gemm), ours, where reported.
    for key in ("ttft_p50_ms", "ttft_p99_ms", "itl_p50_ms", "itl_p99_ms", "weight_gb_per_s", "share_of_peak"):
        if key in ours:
            row.setdefault("ours_detail", {})[key] = round(ours[key], 2)
    # Quality beside speed (bench word2vec: analogy accuracy, WordSim-353 rho), for ours and every reference.
    if "quality" in ours:
        row["quality"] = {name: r["quality"] for name, r in [("ours", ours)] + list(refs.items()) if "quality" in r}
    table.append(row)

if as_json:
    print(json.dumps(table, indent=1))
else:
    ref_names = sorted({k for row in table for k in row
                        if k not in ("bench", "shape", "variant", "metric", "ours", "ours_threads", "strongest_reference", "ratio",
                                     "peak_rss_gb", "ours_detail", "quality")})
    header = ["shape", "variant", "unit", "ours"] + ref_names + ["ratio"]
    lines = [header] + [[r["shape"], r["variant"], METRICS[r["metric"]], f'{r["ours"]:.1f}']
                        + [f'{r[n]:.1f}' if n in r else "-" for n in ref_names] + [f'{r["ratio"]:.2f}']
                        for r in table]
    widths = [max(len(l[i]) for l in lines) for i in range(len(header))]
    for i, l in enumerate(lines):
        print("  ".join(c.rjust(w) for c, w in zip(l, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for r in table:
        if "ours_detail" in r:
            print(f"ours, {r['shape']} {r['variant']}: " + ", ".join(f"{k} {v}" for k, v in r["ours_detail"].items()))
    for r in table:
        if "quality" in r:
            print(f"quality, {r['shape']} {r['variant']}: " + "; ".join(f"{k} {v}" for k, v in r["quality"].items()))
    for r in table:
        if "peak_rss_gb" in r:
            ours_gb, (ref, ref_gb) = r["peak_rss_gb"]["ours"], [(k, v) for k, v in r["peak_rss_gb"].items() if k != "ours"][0]
            print(f"peak resident memory, {r['shape']} {r['variant']}: ours {ours_gb:.2f} GB, {ref} {ref_gb:.2f} GB")
    ratios = sorted(r["ratio"] for r in table)
    if ratios:
        print(f"\nratio = ours / strongest reference; median {ratios[len(ratios) // 2]:.2f}, min {ratios[0]:.2f}")
