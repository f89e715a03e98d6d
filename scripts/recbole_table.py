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

# (row label, attnlab store, attnlab run name, RecBole result file)
ROWS = [
    ("BPR, converged", "attnlab-bpr.db", "bpr", "recbole-BPR.json"),
    ("GRU4Rec, 5 epochs", "attnlab-seq5.db", "gru4rec", "recbole-GRU4Rec-5.json"),
    ("SASRec, 5 epochs", "attnlab-seq5.db", "sasrec", "recbole-SASRec-5.json"),
    ("GRU4Rec, converged", "attnlab-seqconv.db", "gru4rec", None),
    ("SASRec, converged", "attnlab-seqconv.db", "sasrec", None),
]


def attnlab_side(db_path, run_name):
    """Epochs, train seconds, total seconds and test metrics of the run's last FINISHED copy."""
    if not os.path.exists(db_path):
        return None
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    row = db.execute(
        "SELECT id, start_ms, end_ms FROM runs WHERE name = ? AND status = 'FINISHED' ORDER BY start_ms DESC LIMIT 1",
        (run_name,),
    ).fetchone()
    if row is None:
        return None
    run_id, start_ms, end_ms = row

    def latest(key):
        r = db.execute(
            "SELECT value FROM metrics WHERE run_id = ? AND key = ? ORDER BY step DESC, id DESC LIMIT 1", (run_id, key)
        ).fetchone()
        return None if r is None else r[0]

    epochs = db.execute("SELECT COUNT(*) FROM metrics WHERE run_id = ? AND key = 'train.loss'", (run_id,)).fetchone()[0]
    return {
        "epochs": epochs,
        "train_seconds": latest("train.seconds"),
        "total_seconds": (end_ms - start_ms) / 1000.0,
        "test": {m: latest(f"test.{m}") for m in METRICS},
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
    return [str(epochs), f"{per_epoch:.2f}", f"{result['total_seconds']:.1f}"] + [
        "-" if v is None else f"{v:.4f}" for v in values
    ]


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    bench = argv[1]
    header = ["setting", "side", "epochs", "s/epoch", "total s"] + METRICS
    lines = []
    for label, db, run_name, recbole_file in ROWS:
        lines.append([label, "attnlab"] + cells(attnlab_side(os.path.join(bench, db), run_name)))
        if recbole_file is not None:
            lines.append([label, "RecBole"] + cells(recbole_side(os.path.join(bench, recbole_file))))
    widths = [max(len(str(r[i])) for r in [header] + lines) for i in range(len(header))]
    fmt = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
    print(fmt(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in lines:
        print(fmt(r))
    print(
        "\ns/epoch: training + the validation pass of each epoch, averaged over the epochs run;"
        "\ntotal s: training + test evaluation of the best epoch (data loading excluded)."
        "\nconverged: early stopping, patience 10 on the valid metric (MRR@10 / NDCG@10), at most 300 epochs."
    )


if __name__ == "__main__":
    main(sys.argv)
