#!/usr/bin/env bash
# Serve the documentation site locally (http://127.0.0.1:8000), rebuilt on every change.
# Creates .venv if missing (see _venv.sh). `./scripts/docs.sh build` builds it into site/.
set -euo pipefail
source "$(dirname "$0")/_venv.sh"
cd "$ROOT"
if [ "${1:-serve}" = "build" ]; then
    exec mkdocs build --strict
fi
exec mkdocs serve
