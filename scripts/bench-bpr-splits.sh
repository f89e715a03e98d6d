#!/usr/bin/env bash
# attnlab's BPR against RecBole 1.2.1's on the *same* per-user 8:1:1 splits
# of MovieLens-100k, over several splits and model seeds: the spread that a
# target's tolerance in experiments/ml100k-bpr.yaml must cover.
#
# The two tools shuffle with different generators, so `order: random`
# never gives them the same split. Here each split seed S writes a copy of
# ml-100k whose timestamps (and row order) are a seeded random permutation
# (scripts/shuffled_times.py); both tools then split it per user in time
# order (RecBole `order: TO`, attnlab `protocol.order: time`), which is
# the same random split on both sides. RecBole loads the copy's rating and
# timestamp columns as it does ml-100k's. Settings otherwise as
# experiments/ml100k-bpr.yaml and scripts/recbole_run.py (embedding 64,
# batch 2048, Adam lr 0.001, MRR@10 for early stopping, patience 10, at
# most 300 epochs).
#
# Usage: scripts/bench-bpr-splits.sh [OUT_DIR]   (default target/bench-bpr-splits)
#        SPLITS="1 2 3" (split seeds), MODEL_SEEDS="2020 2021" (both sides)
#        ATTNLAB_BIN=PATH (default target/debug/attnlab, built first)
# Needs .venv-recbole (scripts/bench-recbole.sh creates it).
# Prints one Markdown row per split, model seed and tool (with the split's
# train / valid / test rows: equal on both sides), then the mean and
# standard deviation of each tool's test MRR@10 and NDCG@10.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-target/bench-bpr-splits}
SPLITS=${SPLITS:-"1 2 3"}
MODEL_SEEDS=${MODEL_SEEDS:-"2020 2021"}
export VIRTUAL_ENV=$ROOT/.venv PATH=$ROOT/.venv/bin:$PATH LIBTORCH_USE_PYTORCH=1
export BENCH_THREADS=${BENCH_THREADS:-1} ATTNLAB_THREADS=${BENCH_THREADS:-1}
if [ -z "${ATTNLAB_BIN:-}" ]; then
    make --no-print-directory build >&2
fi
BIN=${ATTNLAB_BIN:-$ROOT/target/debug/attnlab}
RB=$ROOT/.venv-recbole/bin/python
[ -x "$RB" ] || { echo "bench: $RB missing: run scripts/bench-recbole.sh once" >&2; exit 2; }
"$BIN" data fetch ml-100k >&2
mkdir -p "$OUT"
ROWS=$OUT/rows.tsv
: > "$ROWS"
TO='eval_args={"split": {"RS": [0.8, 0.1, 0.1]}, "group_by": "user", "order": "TO", "mode": "full"}'
LOAD='load_col={"inter": ["user_id", "item_id", "rating", "timestamp"]}'

echo "| split | model seed | tool | epochs | test MRR@10 | test NDCG@10 | test Recall@10 | test Hit@10 |"
echo "|---|---|---|---|---|---|---|---|"
for split in $SPLITS; do
    name=ml100k-split$split
    "$RB" scripts/shuffled_times.py "$ROOT/data" "$OUT" "$name" "$split"
    for seed in $MODEL_SEEDS; do
        db=$OUT/attnlab-$split-$seed.db
        rm -f "$db"*
        "$BIN" run experiments/ml100k-bpr.yaml "dataset.path=$OUT/$name" protocol.order=time \
            'models=[{ name: bpr, model: BPR, params: { embed_dim: 64 } }]' "seeds=[$seed]" \
            train.checkpoints=false --db "$db" > "$OUT/attnlab-$split-$seed.log" 2>&1
        # the summary's header names its columns ("best epoch" is one)
        read -r epochs mrr ndcg recall hit < <(awk '
            $1 == "model" && $2 == "seed" { for (i = 5; i <= NF; i++) col[$i] = i - 1 }
            $1 == "bpr" && $2 ~ /^[0-9]+$/ && col["test.mrr@10"] {
                print $3, $col["test.mrr@10"], $col["test.ndcg@10"], $col["test.recall@10"], $col["test.hit@10"] }' "$OUT/attnlab-$split-$seed.log")
        rows=$(grep -o '[0-9]* train / [0-9]* valid / [0-9]* test' "$OUT/attnlab-$split-$seed.log")
        echo "| $split | $seed | attnlab ($rows) | $epochs | $mrr | $ndcg | $recall | $hit |"
        printf 'attnlab\t%s\t%s\n' "$mrr" "$ndcg" >> "$ROWS"
        json=$OUT/recbole-$split-$seed.json
        "$RB" scripts/recbole_run.py BPR 300 10 "$OUT" "$json" "$TO" "$LOAD" "dataset=$name" "seed=$seed" > "$OUT/recbole-$split-$seed.log" 2>&1
        "$RB" - "$json" "$split" "$seed" "$ROWS" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = r["test"]
n = r["rows"]
print(f"| {sys.argv[2]} | {sys.argv[3]} | RecBole ({n['train']} train / {n['valid']} valid / {n['test']} test) | {r['epochs']} | {t['mrr@10']:.4f} | {t['ndcg@10']:.4f} | {t['recall@10']:.4f} | {t['hit@10']:.4f} |")
with open(sys.argv[4], "a") as f:
    f.write(f"RecBole\t{t['mrr@10']}\t{t['ndcg@10']}\n")
PY
    done
done
"$RB" - "$ROWS" <<'PY'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
print()
print("| tool | runs | MRR@10 mean ± std | NDCG@10 mean ± std |")
print("|---|---|---|---|")
for tool in ("attnlab", "RecBole"):
    mrr = [float(r[1]) for r in rows if r[0] == tool]
    ndcg = [float(r[2]) for r in rows if r[0] == tool]
    sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0
    print(f"| {tool} | {len(mrr)} | {statistics.mean(mrr):.4f} ± {sd(mrr):.4f} | {statistics.mean(ndcg):.4f} ± {sd(ndcg):.4f} |")
PY
