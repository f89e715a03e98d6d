"""Prints the side-by-side table of scripts/bench-recbole.sh from what it left
in its output folder: attnlab's run stores (attnlab-*.db, read with sqlite3)
and scripts/recbole_run.py's JSON files. A missing side prints as "-".

Usage: recbole_table.py BENCH_DIR
"""

import json
import os
import sqlite3
import sys

METRICS = ["recall@10", "ndcg@10", "mrr@10", "hit@10"]

# (row label, attnlab store, attnlab run name, RecBole results: (side label, file))
# RecBole's sequential models run at two batch sizes: its default 2048 (the
# per-epoch time the speed goal is stated against) and 128 (many more
# optimizer steps an epoch, so better metrics after 5 epochs).
SEQ_B2048 = "RecBole, batch 2048"
SEQ_B128 = "RecBole, batch 128"
ROWS = [
    ("BPR, converged", "attnlab-bpr.db", "bpr", [("RecBole", "recbole-BPR.json")]),
    ("GRU4Rec, 5 epochs", "attnlab-seq5.db", "gru4rec",
     [(SEQ_B2048, "recbole-GRU4Rec-5-b2048.json"), (SEQ_B128, "recbole-GRU4Rec-5-b128.json")]),
    ("SASRec, 5 epochs", "attnlab-seq5.db", "sasrec",
     [(SEQ_B2048, "recbole-SASRec-5-b2048.json"), (SEQ_B128, "recbole-SASRec-5-b128.json"),
      (SEQ_B128 + ", seed 2021", "recbole-SASRec-5-b128-seed2021.json")]),
    ("GRU4Rec, converged", "attnlab-seqconv.db", "gru4rec", []),
    ("SASRec, converged", "attnlab-seqconv.db", "sasrec", []),
]


def attnlab_sides(db_path, run_name):
    """Per seed (in seed order), the epochs, train seconds, total seconds and
    test metrics of the run's last FINISHED copy."""
    if not os.path.exists(db_path):
        return []
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    rows = db.execute(
        "SELECT id, seed, start_ms, end_ms FROM runs WHERE name = ? AND status = 'FINISHED' ORDER BY seed, start_ms DESC",
        (run_name,),
    ).fetchall()
    results, seen = [], set()
    for run_id, seed, start_ms, end_ms in rows:
        if seed in seen:
            continue
        seen.add(seed)

        def latest(key):
            r = db.execute(
                "SELECT value FROM metrics WHERE run_id = ? AND key = ? ORDER BY step DESC, id DESC LIMIT 1", (run_id, key)
            ).fetchone()
            return None if r is None else r[0]

        epochs = db.execute("SELECT COUNT(*) FROM metrics WHERE run_id = ? AND key = 'train.loss'", (run_id,)).fetchone()[0]
        results.append({
            "seed": seed,
            "epochs": epochs,
            "train_seconds": latest("train.seconds"),
            "total_seconds": (end_ms - start_ms) / 1000.0,
            "test": {m: latest(f"test.{m}") for m in METRICS},
        })
    return results


def mean_of(results):
    """The seeds' mean of every figure (epochs and seconds too)."""
    n = len(results)
    avg = lambda xs: sum(xs) / n
    return {
        "epochs": avg([r["epochs"] for r in results]),
        "train_seconds": avg([r["train_seconds"] for r in results]),
        "total_seconds": avg([r["total_seconds"] for r in results]),
        "test": {
            m: None if any(r["test"][m] is None for r in results) else avg([r["test"][m] for r in results])
            for m in METRICS
        },
    }


def recbole_side(path):
    if path is None or not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def cells(result):
    if result is None:
        return ["-"] * (3 + len(METRICS))
    epochs = result["epochs"]
    per_epoch = result["train_seconds"] / epochs if epochs else float("nan")
    values = [result["test"].get(m) for m in METRICS]
    return [f"{epochs:g}", f"{per_epoch:.2f}", f"{result['total_seconds']:.1f}"] + [
        "-" if v is None else f"{v:.4f}" for v in values
    ]


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    bench = argv[1]
    header = ["setting", "side", "epochs", "s/epoch", "total s"] + METRICS
    lines = []
    for label, db, run_name, recbole_files in ROWS:
        ours = attnlab_sides(os.path.join(bench, db), run_name)
        for r in ours:
            lines.append([label, f"attnlab, seed {r['seed']}"] + cells(r))
        if len(ours) > 1:
            lines.append([label, f"attnlab, mean of {len(ours)} seeds"] + cells(mean_of(ours)))
        if not ours:
            lines.append([label, "attnlab"] + cells(None))
        for side, recbole_file in recbole_files:
            lines.append([label, side] + cells(recbole_side(os.path.join(bench, recbole_file))))
    widths = [max(len(str(r[i])) for r in [header] + lines) for i in range(len(header))]
    fmt = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
    print(fmt(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in lines:
        print(fmt(r))
    print(
        "\ns/epoch: training + the validation pass of each epoch, averaged over the epochs run;"
        "\ntotal s: training + test evaluation of the best epoch (data loading excluded)."
        "\nRecBole runs seed 2020 (SASRec at batch 128 also 2021; 5 epochs take it 10-15 min): with"
        "\n943 test users a single seed's metrics move by chance as much as the attnlab seeds show."
        "\nconverged: early stopping, patience 10 on the valid metric (MRR@10 / NDCG@10), at most 300 epochs."
    )


if __name__ == "__main__":
    main(sys.argv)
