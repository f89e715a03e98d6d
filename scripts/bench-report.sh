#!/usr/bin/env bash
# How long `attnlab report` takes on a 1,000-run experiment (10 models x
# 100 seeds, 50 epochs of three curves each) in a real SQLite store, and the
# size of the page: the integration test builds the store, runs the binary
# and prints both. Then the in-memory rendering alone (cargo bench).
set -euo pipefail
cd "$(dirname "$0")/.."
source .venv/bin/activate
export LIBTORCH_USE_PYTORCH=1
cargo test --test integration reports::a_thousand_runs -- --nocapture 2>&1 | grep -E "attnlab report on|report size|test result"
cargo bench -p attnlab-report --bench render 2>&1 | grep "render_html"
