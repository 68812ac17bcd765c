#!/usr/bin/env bash
# Create .venv if missing, install everything, run the linters, the docs build and the test suite.
# Extra arguments go to pytest, e.g. ./scripts/test.sh -k ibm
set -euo pipefail
source "$(dirname "$0")/_venv.sh"
cd "$ROOT"
# the viewer's browser test needs headless Chromium: Debian's packages, installed when missing
# (as root, or with passwordless sudo); without them that one test is skipped and says why
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" = 0 ] || { sudo -n true 2>/dev/null && sudo="sudo -n"; } || sudo="none"
    if [ "$sudo" != "none" ] && command -v apt-get >/dev/null 2>&1; then
        echo "seisfuse: installing chromium and chromium-driver (the viewer's browser test)"
        { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
            --no-install-recommends chromium chromium-driver; } >/dev/null 2>&1 \
            || echo "seisfuse: WARNING: chromium could not be installed: the browser test will be skipped"
    else
        echo "seisfuse: WARNING: no chromium and no root to install it: the browser test will be skipped"
    fi
fi
echo "seisfuse: ruff"
ruff check seisfuse tests scripts docs/tutorials
echo "seisfuse: import-linter (layers of DESIGN.md)"
lint-imports
echo "seisfuse: docs (mkdocs build --strict: a broken link, page or API reference fails)"
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet
echo "seisfuse: pytest"
exec python -m pytest -n 2 "$@"
