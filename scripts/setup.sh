#!/usr/bin/env bash
# Create .venv (Python >= 3.11) and install datadistill with its test dependencies. Idempotent.
# torch is pinned to the CPU build first so that pip never pulls a CUDA build as a side effect.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import datadistill, torch, kornia, pytest" 2>/dev/null; then
  .venv/bin/pip install -q "torch==${TORCH_VERSION:-2.13.0}"
  .venv/bin/pip install -q -e ".[dev]"
fi
