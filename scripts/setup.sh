#!/usr/bin/env bash
# Set up everything: system packages, a virtual environment in .venv, the package with its test
# extras (pytest, Playwright for the browser tests), and the query UI's YASGUI files in node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test,bench]'  # bench: the peers the benchmark's smoke test starts
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is missing: /sparql will have no query editor until 'npm ci --omit=dev' has run." >&2
elif [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
fi
