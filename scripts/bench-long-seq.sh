#!/usr/bin/env bash
# Per-epoch time and peak memory of SASRec and HSTU on MovieLens-100k at
# max length 50 and 200 (experiments/ml100k-hstu.yaml's models: SASRec with
# full cross entropy, HSTU with the sampled softmax; batches of 32 windows,
# one torch thread), with batches cut to their longest real sequence and
# with length-bucketed batches (`train.length_buckets: true`); optionally
# also a binary that pads every batch to max_len (BEFORE_BIN), for the
# before/after table.
#
# Usage: scripts/bench-long-seq.sh [OUT_DIR]   (default target/bench-long-seq)
#        ATTNLAB_BIN=PATH (default target/debug/attnlab, built first)
#        BEFORE_BIN=PATH  a binary without trimming (e.g. one built at the
#                         commit before it); its rows are "padded"
#        BENCH_EPOCHS=N   (default 3): epochs per run; the first is left
#                         out of the mean (warm-up).
# Prints one Markdown row per run: model, max_len, batching, mean seconds
# per epoch (wall, validation included), training throughput (windows per
# second, the epoch's training steps only), the whole run's CPU seconds (user
# + sys, data preparation and the test pass included: steadier than wall
# time on a shared machine), peak RSS (GNU time's "Maximum resident set
# size"), test NDCG@10 after the epochs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-target/bench-long-seq}
EPOCHS=${BENCH_EPOCHS:-3}
export VIRTUAL_ENV=$ROOT/.venv PATH=$ROOT/.venv/bin:$PATH LIBTORCH_USE_PYTORCH=1
if [ -z "${ATTNLAB_BIN:-}" ]; then
    make --no-print-directory build >&2
fi
BIN=${ATTNLAB_BIN:-$ROOT/target/debug/attnlab}
"$BIN" data fetch ml-100k >&2
mkdir -p "$OUT"

SASREC='{ name: sasrec-ce, model: SASRec, params: { hidden: 50, layers: 2, heads: 1, inner: 50, dropout: 0.2 } }'
HSTU='{ name: hstu, model: HSTU, params: { hidden: 50, layers: 2, heads: 1, attention_dim: 50, linear_dim: 50, dropout: 0.2 }, train: { loss: { name: sampled_softmax, negatives: 128, temperature: 0.05, l2_normalize: true } } }'

# spec MODEL MAX_LEN BUCKETS -> a spec file
spec() {
    local file=$OUT/spec-$1-$2-$3.yaml buckets=""
    [ "$3" = buckets ] && buckets=", length_buckets: true"
    local model=$SASREC
    [ "$1" = hstu ] && model=$HSTU
    cat > "$file" <<YAML
name: bench-long-seq
dataset: { source: recbole-atomic, path: data/ml-100k, seed: 2020 }
protocol: { split: leave-one-out, order: time, candidates: full, exclude_history: true, max_len: $2, metrics: [ndcg@10], valid_metric: ndcg@10 }
train: { epochs: $EPOCHS, batch_size: 32, optimizer: { name: adam, lr: 0.001 }, early_stopping: { patience: 10 }, threads: 1, checkpoints: false$buckets }
models:
  - $model
seeds: [2020]
YAML
    echo "$file"
}

# one BIN MODEL MAX_LEN MODE(padded|trimmed|buckets)
one() {
    local bin=$1 model=$2 len=$3 mode=$4
    local tag=$model-$len-$mode
    local file
    file=$(spec "$model" "$len" "$([ "$mode" = buckets ] && echo buckets || echo plain)")
    rm -f "$OUT/$tag.db"*
    /usr/bin/time -v -o "$OUT/$tag.time" "$bin" run "$file" --force --db "$OUT/$tag.db" > "$OUT/$tag.log" 2>&1
    local epoch speed cpu rss ndcg
    epoch=$(grep -E " epoch +[0-9]+ " "$OUT/$tag.log" | awk 'NR > 1 { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+s$/) { s += $i + 0; n++ } } END { if (n) printf "%.1f", s / n; else print "-" }')
    speed=$(grep -E " epoch +[0-9]+ " "$OUT/$tag.log" | awk 'NR > 1 { for (i = 2; i <= NF; i++) if ($i == "samples/s") { s += $(i - 1); n++ } } END { if (n) printf "%.0f", s / n; else print "-" }')
    cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.0f", s }' "$OUT/$tag.time")
    rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$OUT/$tag.time")
    ndcg=$(awk -v m="$model" '$1 == m && $2 == 2020 { print $4 }' "$OUT/$tag.log")
    echo "| $model | $len | $mode | $epoch | $speed | $cpu | $rss | $ndcg |"
}

echo "| model | max_len | batches | s/epoch (wall) | train windows/s | CPU s (run) | peak RSS MiB | test NDCG@10 |"
echo "|---|---|---|---|---|---|---|---|"
for len in 50 200; do
    for model in sasrec-ce hstu; do
        if [ -n "${BEFORE_BIN:-}" ]; then
            one "$BEFORE_BIN" "$model" "$len" padded
        fi
        one "$BIN" "$model" "$len" trimmed
        one "$BIN" "$model" "$len" buckets
    done
done
