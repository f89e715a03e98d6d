#!/usr/bin/env bash
# Creates .venv with the exact PyTorch that tch 0.26 links against.
# Idempotent: a stamp file records a finished install, so a re-run costs nothing.
set -euo pipefail
VENV=${1:-.venv}
TORCH_VERSION=2.13.0
STAMP="$VENV/.torch-$TORCH_VERSION"
if [ -f "$STAMP" ]; then exit 0; fi
echo "bootstrap: creating $VENV with torch==$TORCH_VERSION (one-time, a few minutes)" >&2
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "torch==$TORCH_VERSION" "numpy<3"
"$VENV/bin/python" -c "import torch; assert torch.__version__.split('+')[0] == '$TORCH_VERSION', torch.__version__"
touch "$STAMP"
