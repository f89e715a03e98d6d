#!/usr/bin/env bash
# How attnlab's cost grows with the data, on one machine: for each size,
# a synthetic RecBole atomic file (`attnlab data synth interactions`, ML-20M's
# proportions: 138,493 users and 26,744 items at 20M interactions, users
# growing as the interactions, items as their 0.55th power), then
#
#   synth     writing the file
#   prepare   loading, encoding and splitting it (experiments/synthetic-bpr.yaml,
#             RS 8:1:1), written to the prepared-data cache (`data stats`)
#   cached    the same, read back from the cache
#   eval      Pop: full-ranking evaluation of every user over every item,
#             valid and test split (Pop trains nothing)
#   bpr       BPR-MF: one epoch, then the same valid and test evaluation
#
# and, with BENCH_CRITEO_ROWS, a Criteo-layout log (`data synth criteo`)
# prepared as experiments/criteo-ctr.yaml does (all 39 fields encoded).
# With BENCH_PEERS="recbole", RecBole 1.2.1 on the same .inter files, the
# same protocol and settings (scripts/recbole_scale.py): recbole-prepare
# (create_dataset + data_preparation), recbole-epoch (one BPR epoch) and
# recbole-eval (full ranking of the valid and test split), in one process
# under `timeout` (BENCH_PEER_TIMEOUT, default 3600 s); a peer that fails
# (out of memory, over the limit) gets a `failed` row with its last message,
# and the sizes after it are not tried.
# Every stage is one process timed by /usr/bin/time: wall seconds and peak
# RSS (the binary's libtorch alone is about 0.5 GB of it). Then the fitted
# exponent k of time ~ size^k per stage, least squares on logs.
#
# Usage: scripts/bench-scale.sh [OUT_DIR]            (default target/bench-scale)
#        BENCH_SIZES="1000000 5000000 20000000"      interactions per size ("": none)
#        BENCH_CRITEO_ROWS="4500000 45000000"        (default: none)
#        ATTNLAB_BIN=PATH                            (default target/debug/attnlab, built by make build)
#        BENCH_THREADS=N (default 2): torch and rayon threads.
#        BENCH_SKIP="bpr"                            stages not to run (listed as skipped)
#        BENCH_PEERS="recbole"                       peers to run too (default: none)
#        BENCH_PEER_SIZES="1000000 5000000"          sizes the peers run at (default: all)
#        OMP_WAIT_POLICY (default PASSIVE here): libtorch's OpenMP threads
#        spin at every barrier by default; on a shared 2-core machine a spinning
#        thread waits for one that is descheduled, and BPR's epoch ran 10-13
#        times slower with 2 threads than with 1. Both sides get the same.
# Not part of `make test`: 20M interactions take tens of minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-target/bench-scale}
SIZES=${BENCH_SIZES-1000000 5000000 20000000}
CRITEO_ROWS=${BENCH_CRITEO_ROWS:-}
SKIP=" ${BENCH_SKIP:-} "
PEERS=" ${BENCH_PEERS:-} "
PEER_TIMEOUT=${BENCH_PEER_TIMEOUT:-3600}
RB_VENV=$ROOT/.venv-recbole
export VIRTUAL_ENV=$ROOT/.venv PATH=$ROOT/.venv/bin:$PATH LIBTORCH_USE_PYTORCH=1
export ATTNLAB_THREADS=${BENCH_THREADS:-2} RAYON_NUM_THREADS=${BENCH_THREADS:-2}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
PEER_SIZES=" ${BENCH_PEER_SIZES-$SIZES} "
if [ -z "${ATTNLAB_BIN:-}" ]; then
    make --no-print-directory build >&2
fi
BIN=${ATTNLAB_BIN:-$ROOT/target/debug/attnlab}
mkdir -p "$OUT"
RESULTS=$OUT/results.tsv
: > "$RESULTS"

# stage NAME SIZE COMMAND...: runs it under /usr/bin/time, appends
# "NAME SIZE SECONDS PEAK_KB" to the results, stops the script on failure
# with the command's last lines.
stage() {
    local name=$1 size=$2
    shift 2
    if [[ "$SKIP" == *" $name "* ]]; then
        printf '%s\t%s\tskipped\t\n' "$name" "$size" >> "$RESULTS"
        return
    fi
    echo "bench: $name at $size: $*" >&2
    if ! /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$@" > "$OUT/$name-$size.log" 2>&1; then
        echo "bench: $name at $size failed:" >&2
        tail -5 "$OUT/$name-$size.log" >&2
        exit 1
    fi
    read -r seconds peak < "$OUT/time.txt"
    printf '%s\t%s\t%s\t%s\n' "$name" "$size" "$seconds" "$peak" >> "$RESULTS"
}

# peer NAME SIZE COMMAND...: a peer's run, which writes its own stage rows;
# on failure a `failed` row with the reason and its last message, and the
# peer is dropped for the larger sizes.
peer() {
    local name=$1 size=$2 rc=0
    shift 2
    echo "bench: $name at $size: $*" >&2
    /usr/bin/time -f "%e %M" -o "$OUT/time.txt" timeout "$PEER_TIMEOUT" "$@" > "$OUT/$name-$size.log" 2>&1 || rc=$?
    [ "$rc" = 0 ] && return
    local why="exit $rc"
    case $rc in
        124) why="over ${PEER_TIMEOUT} s" ;;
        137) why="killed (out of memory?)" ;;
    esac
    local last
    last=$({ grep -v '^[[:space:]]*$' "$OUT/$name-$size.log" | grep -v '^Command \(exited\|terminated\)' || true; } | tail -1 | tr '\t' ' ' | cut -c1-160)
    [ -n "$last" ] || last="(no output)"
    printf '%s-failed\t%s\tfailed\t%s: %s\n' "$name" "$size" "$why" "$last" >> "$RESULTS"
    PEERS=${PEERS/ $name / }
}

if [[ "$PEERS" == *" recbole "* ]]; then
    bash scripts/recbole-venv.sh "$RB_VENV" "$ROOT/.venv"
    "$RB_VENV/bin/python" -c 'import torch; print("bench: RecBole runs on torch", torch.__version__)' >&2
fi

# the fixed cost of every stage: starting the binary (loading libtorch)
stage startup 0 "$BIN" --version
SPEC=experiments/synthetic-bpr.yaml
for n in $SIZES; do
    users=$(awk -v n="$n" 'BEGIN { printf "%d", 138493 * n / 20000000 + 0.5 }')
    items=$(awk -v n="$n" 'BEGIN { printf "%d", 26744 * (n / 20000000) ^ 0.55 + 0.5 }')
    dir=$OUT/synthetic-$n
    db=$OUT/db-$n/attnlab.db
    rm -rf "$dir" "$OUT/db-$n"
    stage synth "$n" "$BIN" data synth interactions --users "$users" --items "$items" --interactions "$n" --seed 1 -o "$dir"
    stage prepare "$n" "$BIN" data stats "$SPEC" "dataset.path=$dir" --db "$db"
    stage cached "$n" "$BIN" data stats "$SPEC" "dataset.path=$dir" --db "$db"
    stage eval "$n" "$BIN" run "$SPEC" "dataset.path=$dir" "models=[{name: pop, model: Pop}]" --db "$db"
    stage bpr "$n" "$BIN" run "$SPEC" "dataset.path=$dir" "models=[{name: bpr, model: BPR, params: {embed_dim: 64}}]" --db "$db"
    if [[ "$PEERS" == *" recbole "* && "$PEER_SIZES" == *" $n "* ]]; then
        peer recbole "$n" env BENCH_THREADS="$ATTNLAB_THREADS" "$RB_VENV/bin/python" -u scripts/recbole_scale.py \
            "$OUT" "synthetic-$n" "$n" "$RESULTS"
    fi
done

for n in $CRITEO_ROWS; do
    dir=$OUT/criteo-$n
    rm -rf "$dir" "$OUT/db-criteo-$n"
    stage criteo-synth "$n" "$BIN" data synth criteo --rows "$n" --seed 1 -o "$dir/train.txt"
    stage criteo-prepare "$n" "$BIN" data stats experiments/criteo-ctr.yaml "dataset.path=$dir" \
        dataset.ctr_log.file=train.txt dataset.ctr_log.format=criteo --db "$OUT/db-criteo-$n/attnlab.db"
done

# the table, then k of time ~ size^k per stage (stages with two sizes or more)
awk -F'\t' '
    $3 == "skipped" { printf "%-16s %10s    skipped\n", $1, $2; next }
    $3 == "failed" { printf "%-16s %10s    failed: %s\n", $1, $2, $4; next }
    { printf "%-16s %10s %10.1f s %9.0f MB\n", $1, $2, $3, $4 / 1024
      if ($2 == 0) next
      x = log($2); y = log($3 > 0.01 ? $3 : 0.01)
      n[$1]++; sx[$1] += x; sy[$1] += y; sxx[$1] += x * x; sxy[$1] += x * y }
    END {
      print ""
      for (s in n) if (n[s] > 1) {
        k = (n[s] * sxy[s] - sx[s] * sy[s]) / (n[s] * sxx[s] - sx[s] * sx[s])
        printf "%-16s time ~ size^%.2f (%d sizes)\n", s, k, n[s]
      }
    }' "$RESULTS"
