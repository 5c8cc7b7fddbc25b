"""Joins the JSON rows of our benchmark and the references' into one table (or JSON list) with
ratio = our throughput / the strongest reference's throughput for the same row."""
import json
import sys
from collections import OrderedDict

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip().startswith("{")]
as_json = "--json" in sys.argv
OURS = "llm (Swift+C)"
groups = OrderedDict()
for r in rows:
    groups.setdefault((r["shape"], r["variant"]), {})[r["impl"]] = r

table = []
for (shape, variant), impls in groups.items():
    ours = impls.get(OURS)
    refs = {k: v for k, v in impls.items() if k != OURS}
    if not ours or not refs:
        continue
    best = max(refs.values(), key=lambda r: r["gflops"])
    row = {"bench": ours["bench"], "shape": shape, "variant": variant, "threads": ours["threads"],
           "ours_gflops": round(ours["gflops"], 1)}
    for name, r in refs.items():
        row[name + " gflops"] = round(r["gflops"], 1)
    row["strongest_reference"] = best["impl"]
    row["ratio"] = round(ours["gflops"] / best["gflops"], 3)
    table.append(row)

if as_json:
    print(json.dumps(table, indent=1))
else:
    ref_names = sorted({k[:-7] for row in table for k in row if k.endswith(" gflops")})
    header = ["shape", "variant", "ours GFLOP/s"] + [f"{n} GFLOP/s" for n in ref_names] + ["ratio"]
    lines = [header] + [[r["shape"], r["variant"], f'{r["ours_gflops"]:.1f}']
                        + [f'{r.get(n + " gflops", float("nan")):.1f}' for n in ref_names] + [f'{r["ratio"]:.2f}']
                        for r in table]
    widths = [max(len(l[i]) for l in lines) for i in range(len(header))]
    for i, l in enumerate(lines):
        print("  ".join(c.rjust(w) for c, w in zip(l, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    ratios = sorted(r["ratio"] for r in table)
    if ratios:
        print(f"\nratio = ours / strongest reference; median {ratios[len(ratios) // 2]:.2f}, min {ratios[0]:.2f}")
