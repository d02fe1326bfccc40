#!/usr/bin/env bash
# Create .venv with the CPU build of torch first (so pip never pulls a multi-GB CUDA build), then the project.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -c "import torch" 2>/dev/null || python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[test]"
# The agent desk's browser test (tests/test_desk_browser.py) drives Debian's chromium + chromedriver.
# Without them it skips, except on CI (CI=true), where a browser that cannot be installed is an error.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  if command -v apt-get >/dev/null && { [ -z "$SUDO" ] || command -v sudo >/dev/null; } &&
    $SUDO env DEBIAN_FRONTEND=noninteractive sh -c \
      'apt-get update -qq && apt-get install -y -qq chromium chromium-driver' >/dev/null; then
    echo "setup: installed chromium and chromium-driver"
  elif [ "${CI:-}" = "true" ]; then
    echo "setup: could not install chromium and chromium-driver, which CI's browser test needs" >&2
    exit 1
  else
    echo "setup: no chromium/chromedriver (needs apt-get and root); tests/test_desk_browser.py will skip" >&2
  fi
fi
