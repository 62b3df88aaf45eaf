#!/usr/bin/env bash
# Set up a working copy: a virtual environment in .venv with fluxpanel
# (editable) and its test tools, and, with --browser, Debian's Chromium for the
# real-browser tests. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi

# The front-end bundle: built by the package build too, rebuilt here when
# js/ has changed since.
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f src/fluxpanel/static/widget.js ] || [ -n "$(find js package.json -newer src/fluxpanel/static/widget.js -print -quit)" ]; then
  npm run --silent build
fi

stamp=.venv/.fluxpanel-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"
  touch "$stamp"
fi

if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi
