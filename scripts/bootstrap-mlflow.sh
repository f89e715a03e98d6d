#!/usr/bin/env bash
# Creates a throwaway venv holding a pinned MLflow tracking server, used by the
# attnlab-track MLflow integration tests (crates/attnlab-track/tests/mlflow.rs).
# Usage: scripts/bootstrap-mlflow.sh [VENV_DIR]   (default .venv-mlflow)
# Idempotent: a stamp file records a finished install, so a re-run costs nothing.
# The tests find the server through ATTNLAB_TEST_MLFLOW=<VENV_DIR>/bin/mlflow,
# or <workspace>/.venv-mlflow/bin/mlflow when that variable is unset.
set -euo pipefail
VENV=${1:-.venv-mlflow}
MLFLOW_VERSION=3.17.2
STAMP="$VENV/.mlflow-$MLFLOW_VERSION"
if [ -f "$STAMP" ]; then exit 0; fi
echo "bootstrap: creating $VENV with mlflow==$MLFLOW_VERSION (one-time, a minute or two)" >&2
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "mlflow==$MLFLOW_VERSION"
"$VENV/bin/python" -c "import mlflow; assert mlflow.__version__ == '$MLFLOW_VERSION', mlflow.__version__"
"$VENV/bin/mlflow" server --help >/dev/null
touch "$STAMP"
