#!/usr/bin/env bash
# The pictures in reports/examples/: the quickstart, market and a 50-trial
# sweep report, each at 1400 px and 400 px wide, taken in headless Chromium
# (make browser). Runs the experiments into a scratch store first, small so
# it takes minutes on a laptop CPU: quickstart and market for one epoch on
# 400 simulated users (market's A/B test on 2,000 sessions), and quickstart's
# DIN over 50 random learning rates and embedding sizes, one epoch each on 150
# users. Prints each page's size and the time it took to open.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/debug/attnlab
out=reports/examples
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ATTNLAB_DB="$work/store.db"
mkdir -p "$out"

small=(train.epochs=1 dataset.simulator.users=400)
"$bin" run experiments/quickstart.yaml "${small[@]}"
"$bin" run experiments/market.yaml "${small[@]}" ab_test.sessions=2000
cat > "$work/sweep50.yaml" <<'SPEC'
name: sweep50
description: DIN on the attention-market simulator over 50 random learning rates and embedding sizes
dataset:
  source: simulator
  seed: 7
  simulator: { users: 150, items: 300, topics: 12, sessions_per_user: 12, slots: 8, interest_sharpness: 3.0 }
protocol:
  split: temporal
  ratios: [0.8, 0.1, 0.1]
  history_len: 20
  metrics: [auc, gauc, logloss]
  valid_metric: auc
train:
  epochs: 1
  batch_size: 1024
  optimizer: { name: adam, lr: 0.005 }
  device: auto
models:
  - { name: din, model: DIN, params: { embed_dim: 8, attention_hidden: [16], mlp_hidden: [32] } }
seeds: [2024]
sweep:
  method: random
  trials: 50
  seed: 1
  params:
    train.optimizer.lr: { dist: loguniform, low: 1.0e-4, high: 1.0e-1 }
    models.0.params.embed_dim: { dist: choice, values: [4, 8, 16] }
SPEC
"$bin" run "$work/sweep50.yaml" --jobs 2

cargo build --locked -q -p attnlab-report --example screenshot
for name in quickstart market sweep50; do
    "$bin" report "$name" -o "$work/$name.html"
    cargo run --locked -q -p attnlab-report --example screenshot -- "$work/$name.html" "$out/$name"
done
