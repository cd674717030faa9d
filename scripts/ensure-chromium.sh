#!/usr/bin/env bash
# Makes sure a headless-capable Chromium is installed (Debian's `chromium`
# package, apt-get) for the console's browser tests
# (services/console/browsertest), then prints its version.
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1; then
  echo "chromium: not installed, installing chromium with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
  echo "chromium: installed"
fi
if ! command -v chromium >/dev/null 2>&1; then
  echo "chromium: still not on PATH after apt-get install" >&2
  exit 1
fi
# Debian's launcher script prints harmless shell noise on stderr; keep stdout.
echo "chromium: $(chromium --version 2>/dev/null) at $(command -v chromium)"
