#!/usr/bin/env bash
# Load benchmark of `attnlab serve`, with and without dynamic batching, at
# several rates and concurrencies, driven by the Rust load generator
# `attnlab-load` (crates/attnlab-load: open loop at a fixed rate, latency from
# each request's scheduled time; rate 0 is closed loop, as fast as answered)
# against a server on a free 127.0.0.1 port. Prints a Markdown table.
#
# - POST /v1/recommend: BPR and SASRec trained for one epoch on ml-100k,
#   top-10 over all items for a random known user per request;
# - POST /v1/rank: DIN and MMoE trained for one epoch on the market
#   simulator (experiments/market.yaml), a random user per request with 40
#   organic candidates and 10 ads (random CPC bids): 50 candidates.
#
# Then the same bodies answered in-process by `attnlab serve --offline` (no
# HTTP; one request, then 32, to a forward pass): the offline scoring rate.
#
#   scripts/bench-serve.sh [SECONDS_PER_POINT] [recommend|rank|all]   (default 10 all)
#   BENCH_DB=/tmp/bench/attnlab.db scripts/bench-serve.sh 3   # keep the trained runs for the next call
#
# Needs the built binary (target/debug/attnlab or $ATTNLAB) and, for
# /v1/recommend, ml-100k in data/ml-100k (`attnlab data fetch ml-100k`). The
# generator is built here in release (no libtorch: seconds) unless $ATTNLAB_LOAD
# names one.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
which=${2:-all}
bin=${ATTNLAB:-target/debug/attnlab}
load=${ATTNLAB_LOAD:-target/release/attnlab-load}
[ -n "${ATTNLAB_LOAD:-}" ] || cargo build --release --quiet -p attnlab-load
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
# BENCH_DB=PATH keeps the store: runs trained by an earlier call are reused
export ATTNLAB_DB=${BENCH_DB:-$work/store/attnlab.db}

run_id() { # EXPERIMENT NAME
  "$bin" runs list "$1" --json | python3 -c "import json,sys; print(next(r['id'] for r in json.load(sys.stdin) if r['name']=='$2'))"
}

# bench NAME RUN ENDPOINT BODIES: one table row per batching mode and load point
bench() {
  local name=$1 run=$2 endpoint=$3 bodies=$4
  for batching in off on; do
    flags=(--max-batch 1 --max-wait-us 0)
    [ "$batching" = on ] && flags=(--max-batch 32 --max-wait-us 500)
    rm -f "$work/serve.out"
    "$bin" serve --run "$run" --bind 127.0.0.1:0 --threads 2 --events "$work/events-$name-$batching.jsonl" "${flags[@]}" \
      >"$work/serve.out" 2>"$work/serve.err" &
    pid=$!
    for _ in $(seq 600); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
    base=$(sed -n 's/^listening on //p' "$work/serve.out")
    [ -n "$base" ] || { echo "serve did not start:" >&2; cat "$work/serve.err" >&2; exit 1; }
    if [ -n "${make_bodies:-}" ]; then $make_bodies "$base" "$bodies"; fi
    for point in "200 1" "200 8" "1000 8" "1000 64" "0 1" "0 8" "0 64"; do
      set -- $point
      row "$endpoint" "$name" "$batching" "$2" "$([ "$1" = 0 ] && echo max || echo "$1")" \
        "$("$load" "$base$endpoint" "$bodies" "$1" "$2" "$secs")"
    done
    kill -TERM $pid; wait $pid || true
  done
  # the same bodies answered in-process (no HTTP), one and 32 to a forward
  # pass: latencies are a whole batch's
  for batch in 1 32; do
    row "$endpoint in-process" "$name" "$([ $batch = 1 ] && echo off || echo on)" "batch $batch" max \
      "$("$bin" serve --run "$run" --max-batch $batch --offline "$bodies" --offline-seconds "$secs" 2>"$work/offline.err")"
  done
}

# row ENDPOINT MODEL BATCHING CONCURRENCY TARGET JSON: one table row from a measurement
row() {
  python3 -c "import json,sys; r=json.loads(sys.argv[6]); print('| ' + ' | '.join(sys.argv[1:6] + [str(r[k]) for k in ('rps', 'p50', 'p90', 'p99', 'p999', 'errors')]) + ' |')" "$@"
}

# feed requests of the served world (from GET /v1/models): 40 organic items, 10 ads
rank_bodies() { # BASE BODIES
  python3 - "$1" "$2" <<'PY'
import json, random, sys, urllib.request
m = json.load(urllib.request.urlopen(sys.argv[1] + "/v1/models"))["models"][0]
random.seed(7)
with open(sys.argv[2], "w") as f:
    for _ in range(2000):
        organic = random.sample(range(1, m["organic_items"] + 1), 40)
        ads = random.sample(range(m["organic_items"] + 1, m["items"] + 1), 10)
        f.write(json.dumps({
            "user": str(random.randrange(m["users"])),
            "organic": [str(i) for i in organic],
            "ads": [{"item": str(i), "bid": round(random.uniform(0.5, 3.0), 2), "bid_type": "cpc"} for i in ads],
        }) + "\n")
PY
}

echo "| endpoint | model | batching | concurrency | target req/s | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"

if [ "$which" != rank ]; then
  run_id ml100k-sequential bpr >/dev/null 2>&1 || "$bin" run experiments/ml100k-sequential.yaml train.epochs=1 "dataset.path=$PWD/data/ml-100k" \
    "models=[{name: sasrec, model: SASRec, params: {hidden: 64, layers: 2, heads: 2}}, {name: bpr, model: BPR, params: {embed_dim: 64}, train: {batch_size: 256}}]" \
    >"$work/run.log" 2>&1
  python3 - "$work/bodies.jsonl" <<'PY'
import json, random, sys
random.seed(7)
with open(sys.argv[1], "w") as f:
    for _ in range(5000):
        f.write(json.dumps({"user": str(random.randint(1, 943)), "k": 10}) + "\n")
PY
  for name in bpr sasrec; do
    make_bodies='' bench "$name" "$(run_id ml100k-sequential "$name")" /v1/recommend "$work/bodies.jsonl"
  done
fi

if [ "$which" != recommend ]; then
  # the spec's A/B test keeps its feed policy (GSP, reserve); a short one
  run_id market mmoe >/dev/null 2>&1 || "$bin" run experiments/market.yaml train.epochs=1 \
    "models=[{name: din, model: DIN}, {name: mmoe, model: MMoE, params: {embed_dim: 16, experts: 4}}]" \
    "ab_test.arms=[{name: din, model: din}, {name: mmoe, model: mmoe}]" \
    ab_test.sessions=1000 ab_test.trade_off=null ab_test.power=null ab_test.pacing=false \
    >"$work/market.log" 2>&1
  for name in din mmoe; do
    make_bodies=rank_bodies bench "$name" "$(run_id market "$name")" /v1/rank "$work/rank-$name.jsonl"
  done
fi
