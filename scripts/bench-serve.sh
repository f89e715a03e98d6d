#!/usr/bin/env bash
# Load benchmark of `attnlab serve` on ml-100k: trains BPR and SASRec for one
# epoch in a scratch store, serves each on a free 127.0.0.1 port with and
# without dynamic batching, and drives POST /v1/recommend (top-10 over all
# items, a random known user per request) with scripts/load_serve.py at
# several rates and concurrencies. Prints a Markdown table.
#
#   scripts/bench-serve.sh [SECONDS_PER_POINT]      (default 10)
#
# Needs the built binary (target/debug/attnlab or $ATTNLAB) and ml-100k in
# data/ml-100k (`attnlab data fetch ml-100k`).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
bin=${ATTNLAB:-target/debug/attnlab}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export ATTNLAB_DB=$work/store/attnlab.db

"$bin" run experiments/ml100k-sequential.yaml train.epochs=1 "dataset.path=$PWD/data/ml-100k" \
  "models=[{name: sasrec, model: SASRec, params: {hidden: 64, layers: 2, heads: 2}}, {name: bpr, model: BPR, params: {embed_dim: 64}, train: {batch_size: 256}}]" \
  >"$work/run.log" 2>&1
python3 - "$work/bodies.jsonl" <<'PY'
import json, random, sys
random.seed(7)
with open(sys.argv[1], "w") as f:
    for _ in range(5000):
        f.write(json.dumps({"user": str(random.randint(1, 943)), "k": 10}) + "\n")
PY

echo "| model | batching | concurrency | target req/s | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for name in bpr sasrec; do
  run=$("$bin" runs list ml100k-sequential --json | python3 -c "import json,sys; print(next(r['id'] for r in json.load(sys.stdin) if r['name']=='$name'))")
  for batching in off on; do
    flags=(--max-batch 1 --max-wait-us 0)
    [ "$batching" = on ] && flags=(--max-batch 32 --max-wait-us 500)
    "$bin" serve --run "$run" --bind 127.0.0.1:0 --threads 2 --events "$work/events-$name-$batching.jsonl" "${flags[@]}" \
      >"$work/serve.out" 2>"$work/serve.err" &
    pid=$!
    for _ in $(seq 300); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
    base=$(sed -n 's/^listening on //p' "$work/serve.out")
    [ -n "$base" ] || { echo "serve did not start:" >&2; cat "$work/serve.err" >&2; exit 1; }
    url=$base/v1/recommend
    for point in "200 1" "200 8" "1000 8" "1000 64" "0 1" "0 8" "0 64"; do
      set -- $point
      r=$(python3 scripts/load_serve.py "$url" "$work/bodies.jsonl" "$1" "$2" "$secs")
      python3 -c "import json,sys; r=json.loads(sys.argv[1]); print(f\"| $name | $batching | $2 | {'max' if '$1'=='0' else '$1'} | {r['rps']} | {r['p50']} | {r['p90']} | {r['p99']} | {r['p999']} | {r['errors']} |\")" "$r"
    done
    kill -TERM $pid; wait $pid || true
  done
done
