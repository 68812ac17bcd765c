# Sourced by demo.sh and test.sh: create .venv when missing and install seisfuse with its
# extras. torch comes first and pinned: pip takes 2.14.1 from this machine's local files
# (a CUDA build that also runs on CPU); an unpinned torch would download several GB.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
export NO_ALBUMENTATIONS_UPDATE=1
export PIP_DISABLE_PIP_VERSION_CHECK=1
stamp="$VENV/.seisfuse-installed"
if [ ! -x "$VENV/bin/python" ]; then
    echo "seisfuse: creating $VENV"
    "$PY" -m venv "$VENV"
fi
if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    echo "seisfuse: installing (torch first, then seisfuse[test,hpc,lint,mdio,docs])"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q "torch==2.14.1" "torchvision==0.29.1"
    "$VENV/bin/python" -m pip install -q -e "$ROOT[test,hpc,lint,mdio,docs]"
    touch "$stamp"
fi
export PATH="$VENV/bin:$PATH"
