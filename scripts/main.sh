#!/usr/bin/env bash
# The main job: set up, build the graph into build/store, print its summary, and serve it
# (HOST and PORT may be set; default 127.0.0.1:8000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/repression-kg build
exec .venv/bin/repression-kg serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
