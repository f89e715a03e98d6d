#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU, builds attnlab against a
# CUDA build of libtorch, runs the `cuda-tests` feature, trains SASRec and
# HSTU on ml-100k for a few epochs on cuda:0 with bf16 autocast, and prints
# each run's seconds per epoch and the GPU's busy share while training
# (nvidia-smi's utilization.gpu sampled every 200 ms: the share of time a
# kernel was running).
#
# Usage: scripts/gpu-check.sh [EPOCHS]        (default 3)
#   TORCH_CUDA_INDEX=URL  installs torch 2.13.0 from that wheel index into
#                         .venv first when the venv's torch has no CUDA
#                         (e.g. PyTorch's cu12x index).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-3}
VENV=$PWD/.venv
OUT=target/gpu-check
command -v nvidia-smi >/dev/null || { echo "gpu-check: nvidia-smi not found: this machine has no NVIDIA driver" >&2; exit 2; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv

[ -x "$VENV/bin/python" ] || bash scripts/bootstrap-venv.sh "$VENV"
has_cuda() { "$VENV/bin/python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; }
if ! has_cuda; then
    if [ -z "${TORCH_CUDA_INDEX:-}" ]; then
        echo "gpu-check: the venv's torch has no CUDA; set TORCH_CUDA_INDEX to a CUDA wheel index" >&2
        exit 2
    fi
    "$VENV/bin/pip" install --force-reinstall --no-deps "torch==2.13.0" --index-url "$TORCH_CUDA_INDEX"
    has_cuda || { echo "gpu-check: torch still sees no GPU" >&2; exit 2; }
fi
export VIRTUAL_ENV=$VENV PATH=$VENV/bin:$PATH LIBTORCH_USE_PYTORCH=1

cargo build --locked --bins
cargo test --locked -p attnlab-train --features cuda-tests -- cuda
target/debug/attnlab doctor
[ -f data/ml-100k/ml-100k.inter ] || target/debug/attnlab data fetch ml-100k

rm -rf "$OUT" && mkdir -p "$OUT"
export ATTNLAB_DB=$OUT/attnlab.db
nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits -lms 200 > "$OUT/utilization.txt" &
SMI=$!
trap 'kill $SMI 2>/dev/null || true' EXIT
for max_len in 50 200; do
    target/debug/attnlab run experiments/ml100k-hstu.yaml --force \
        "name=gpu-check-$max_len" "protocol.max_len=$max_len" "seeds=[2020]" \
        "train.epochs=$EPOCHS" "train.early_stopping=null" train.device=cuda:0 train.amp=bf16 \
        'models=[{name: sasrec, model: SASRec, params: {hidden: 50, layers: 2, heads: 1, inner: 50, dropout: 0.2}}, {name: hstu, model: HSTU, params: {hidden: 50, layers: 2, heads: 1, attention_dim: 50, linear_dim: 50, dropout: 0.2}}]'
done
kill $SMI 2>/dev/null || true

for max_len in 50 200; do
    target/debug/attnlab runs list "gpu-check-$max_len" --json > "$OUT/runs-$max_len.json"
done
python3 - "$OUT" <<'PY'
import json, sys
print("\n| max_len | model | s/epoch | peak host MiB | test ndcg@10 |\n|---|---|---|---|---|")
for max_len in (50, 200):
    for r in json.load(open(f"{sys.argv[1]}/runs-{max_len}.json")):
        m, tags = r["metrics"], r["tags"]
        seconds = m["train.seconds"] / int(r["params"]["train.epochs"])
        peak = int(tags.get("prov.mem.peak_bytes", 0)) / 2**20
        print(f"| {max_len} | {r['name']} | {seconds:.2f} | {peak:.0f} | {m.get('test.ndcg@10', float('nan')):.4f} |")
PY
python3 - "$OUT/utilization.txt" <<'PY'
import sys
u = [float(x) for x in open(sys.argv[1]) if x.strip()]
busy = [x for x in u if x > 0]
print(f"\nGPU busy share while training: {sum(u) / max(len(u), 1):.1f}% mean utilization over {len(u)} samples "
      f"({len(busy)} samples with a kernel running)")
PY
