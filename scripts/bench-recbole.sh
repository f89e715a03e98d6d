#!/usr/bin/env bash
# attnlab vs RecBole 1.2.1 on MovieLens-100k, same data files, same protocol,
# same hyper-parameters, one machine, one go; prints a side-by-side table of
# wall time per epoch, total wall time and test recall/ndcg/mrr/hit@10.
#
#   BPR:             trained to convergence on both sides (early stopping,
#                    patience 10 on MRR@10, at most 300 epochs).
#   GRU4Rec, SASRec: 5 epochs on both sides, RecBole at its default batch
#                    of 2048 prefixes and at 128 (more steps an epoch, better
#                    metrics after 5); attnlab alone also to convergence
#                    (patience 10 on NDCG@10).
#
# Settings (experiments/ml100k-bpr.yaml, experiments/ml100k-sequential.yaml,
# mirrored in scripts/recbole_run.py): RS 8:1:1 for BPR, LS by time for the
# sequential models, full ranking, seed 2020, embedding 64, max_len 50,
# hidden 64, 2 layers, 2 heads, CE loss.
#
# Usage: scripts/bench-recbole.sh [OUT_DIR]   (default target/bench-recbole)
#        ATTNLAB_BIN=PATH scripts/bench-recbole.sh   (use that binary, skip `make build`)
#        BENCH_THREADS=N (default 1): torch threads of both sides.
#        BENCH_REUSE_RECBOLE=1: keep RecBole's results already in OUT_DIR
#        (recbole-*.json; each takes 5-15 min) and run only what is missing.
# RecBole goes into its own venv, .venv-recbole (created once, then reused),
# which borrows the exact torch of .venv through a .pth file instead of
# downloading another 5 GB. Not part of `make test`: it takes tens of minutes
# on a 2-core CPU (RecBole's SASRec alone is ~3 min an epoch there).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-target/bench-recbole}
RB_VENV=$ROOT/.venv-recbole
export VIRTUAL_ENV=$ROOT/.venv PATH=$ROOT/.venv/bin:$PATH LIBTORCH_USE_PYTORCH=1
export BENCH_THREADS=${BENCH_THREADS:-1}
export ATTNLAB_THREADS=$BENCH_THREADS

bash scripts/recbole-venv.sh "$RB_VENV" "$ROOT/.venv"

# ATTNLAB_BIN: an attnlab binary built earlier (skips the build).
if [ -z "${ATTNLAB_BIN:-}" ]; then
    make --no-print-directory build >&2
fi
BIN=${ATTNLAB_BIN:-$ROOT/target/debug/attnlab}
"$BIN" data fetch ml-100k >&2
mkdir -p "$OUT"
# a fresh start each time (a new store never resumes old checkpoints; they
# only take disk)
rm -rf "$OUT"/attnlab-*.db* "$OUT"/checkpoints
[ -n "${BENCH_REUSE_RECBOLE:-}" ] || rm -f "$OUT"/recbole-*.json

CONVERGE=(train.epochs=300 train.early_stopping.patience=10)
# three seeds on attnlab's side, where they are cheap: one seed's test
# metrics on 943 users move by chance
FIVE=(train.epochs=5 train.early_stopping.patience=10 "seeds=[2020,2021,2022]")
step() { echo "bench: $*" >&2; }
# recbole MODEL EPOCHS OUT_FILE [KEY=VALUE ...]
recbole() {
    local model=$1 epochs=$2 out=$OUT/$3
    shift 3
    if [ -n "${BENCH_REUSE_RECBOLE:-}" ] && [ -f "$out" ]; then
        step "RecBole $model: reusing $out"
        return
    fi
    step "RecBole $model, $epochs epochs at most $*"
    "$RB_VENV/bin/python" scripts/recbole_run.py "$model" "$epochs" 10 "$ROOT/data" "$out" "$@" >&2
}

step "attnlab BPR, converged"
"$BIN" run experiments/ml100k-bpr.yaml "${CONVERGE[@]}" --db "$OUT/attnlab-bpr.db" >&2
recbole BPR 300 recbole-BPR.json

step "attnlab GRU4Rec and SASRec, 5 epochs"
"$BIN" run experiments/ml100k-sequential.yaml "${FIVE[@]}" --db "$OUT/attnlab-seq5.db" >&2
for model in GRU4Rec SASRec; do
    for batch in 2048 128; do
        recbole "$model" 5 "recbole-$model-5-b$batch.json" train_batch_size=$batch
    done
done
# a second RecBole seed where one seed's luck decides the comparison
recbole SASRec 5 recbole-SASRec-5-b128-seed2021.json train_batch_size=128 seed=2021

step "attnlab GRU4Rec and SASRec, converged"
"$BIN" run experiments/ml100k-sequential.yaml "${CONVERGE[@]}" --db "$OUT/attnlab-seqconv.db" >&2

python3 scripts/recbole_table.py "$OUT"
