#!/usr/bin/env bash
# Create .venv with the locked dependencies (uv.lock); quick when it is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null 2>&1 || python=python3

if [ ! -x .venv/bin/pip ]; then
  rm -rf .venv
  if ! "$python" -m venv .venv >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      echo "installing Debian's python3-venv…" >&2
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      rm -rf .venv
      "$python" -m venv .venv
    else
      echo "cannot create a virtual environment: run 'sudo apt-get install python3-venv'" >&2
      exit 1
    fi
  fi
fi
[ -x .venv/bin/uv ] || .venv/bin/pip install -q --disable-pip-version-check uv==0.13.8
UV_PROJECT_ENVIRONMENT=.venv .venv/bin/uv sync --frozen --inexact --quiet
