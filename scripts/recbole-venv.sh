#!/usr/bin/env bash
# Creates (once) the RecBole 1.2.1 venv the peer benchmarks use: its own
# venv, which sees the project venv's packages through a .pth file (pip may
# still install the torch RecBole asks for into it: the benches print which
# torch ran). RecBole imports ray, which needs pkg_resources, and numpy 1.x.
# Usage: scripts/recbole-venv.sh RB_VENV PROJECT_VENV
set -euo pipefail
RB_VENV=$1
PROJECT_VENV=$2
RECBOLE_VERSION=1.2.1
STAMP=$RB_VENV/.recbole-$RECBOLE_VERSION
[ -f "$STAMP" ] && exit 0
echo "bench: creating $RB_VENV with recbole==$RECBOLE_VERSION (once)" >&2
python3 -m venv "$RB_VENV"
site=$("$RB_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
"$PROJECT_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' > "$site/zz_attnlab_torch.pth"
"$RB_VENV/bin/pip" install --quiet --disable-pip-version-check \
    "recbole==$RECBOLE_VERSION" "numpy<2" "pandas<2.3" "setuptools<70"
"$RB_VENV/bin/python" -c "import recbole, torch; assert recbole.__version__ == '$RECBOLE_VERSION'"
touch "$STAMP"
