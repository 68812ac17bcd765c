#!/usr/bin/env bash
# Create .venv if missing, install everything, run the linters and the test suite.
# Extra arguments go to pytest, e.g. ./scripts/test.sh -k ibm
set -euo pipefail
source "$(dirname "$0")/_venv.sh"
cd "$ROOT"
echo "seisfuse: ruff"
ruff check seisfuse tests scripts
echo "seisfuse: import-linter (layers of DESIGN.md)"
lint-imports
echo "seisfuse: pytest"
exec python -m pytest -n 2 "$@"
