#!/usr/bin/env bash
# Install the system packages the project needs and the machine lacks: a Java runtime for the
# OWL reasoner (HermiT, run by owlready2). Needs root for apt-get; otherwise says what to install.
set -euo pipefail
if command -v java >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends default-jre-headless >/dev/null
else
  echo "A Java runtime is needed for the OWL reasoner: install one (Debian/Ubuntu: sudo apt-get install default-jre-headless)." >&2
  exit 1
fi
