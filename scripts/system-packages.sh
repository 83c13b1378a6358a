#!/usr/bin/env bash
# Install the system packages the project needs and the machine lacks: a Java runtime for the
# OWL reasoner (HermiT, run by owlready2); npm for the query UI's YASGUI files; Chromium for the
# browser tests. Needs root for apt-get; otherwise says what to install (and fails only for Java).
set -euo pipefail
missing=()
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
[ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
if [ "${#missing[@]}" = "0" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif ! command -v java >/dev/null 2>&1; then
  echo "A Java runtime is needed for the OWL reasoner: install one (Debian/Ubuntu: sudo apt-get install default-jre-headless)." >&2
  exit 1
else
  echo "Not installed: ${missing[*]} (npm fetches the query UI's YASGUI files, Chromium runs the browser tests)." \
    "Debian/Ubuntu: sudo apt-get install ${missing[*]}" >&2
fi
