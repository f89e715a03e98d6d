"""The ml100k-content table: each model's test metrics over its seeds, mean
plus or minus the sample standard deviation, from `attnlab runs list --json`.
The gender gap's 95% bootstrap CI is each seed's CI bounds averaged.

    attnlab runs list ml100k-content --json | python scripts/content_table.py
"""
import json
import statistics
import sys

COLUMNS = [
    ("NDCG@10", "test.ndcg@10"),
    ("cold NDCG@10", "test.cold.ndcg@10"),
    ("exposure Gini@10", "test.exposuregini@10"),
    ("long-tail share@10", "test.longtailshare@10"),
]
GAP = "test.gap.gender.ndcg@10"


def mean_std(values):
    if not values:
        return "–"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f}"


def main() -> None:
    runs = [r for r in json.load(sys.stdin) if r["status"] == "FINISHED"]
    names = []
    for r in sorted(runs, key=lambda r: r["start_ms"]):
        if r["name"] not in names:
            names.append(r["name"])
    header = ["model", "seeds"] + [c for c, _ in COLUMNS] + ["gender gap NDCG@10 [95% CI]"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name in names:
        mine = [r["metrics"] for r in runs if r["name"] == name]
        cells = [name, str(len(mine))]
        cells += [mean_std([m[k] for m in mine if k in m]) for _, k in COLUMNS]
        gaps = [m for m in mine if GAP in m]
        lo = statistics.mean(m[GAP + ".ci_low"] for m in gaps) if gaps else float("nan")
        hi = statistics.mean(m[GAP + ".ci_high"] for m in gaps) if gaps else float("nan")
        cells.append(f"{mean_std([m[GAP] for m in gaps])} [{lo:.4f}, {hi:.4f}]")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
