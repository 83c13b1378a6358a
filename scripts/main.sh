#!/usr/bin/env bash
# The main job: set up, build the graph into build/store and print its summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/repression-kg build
