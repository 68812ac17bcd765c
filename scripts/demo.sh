#!/usr/bin/env bash
# Create .venv if missing, install, and run the demo pipeline end to end.
set -euo pipefail
source "$(dirname "$0")/_venv.sh"
cd "$ROOT"
exec seisfuse run pipelines/demo.yaml "$@"
