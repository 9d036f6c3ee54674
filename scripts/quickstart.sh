#!/usr/bin/env bash
# The main job on the embedded data: distill scikit-learn's 8x8 digits with gradient matching (DC, IPC 1),
# print the test accuracy of the distilled set next to random real images, write runs/quickstart/grid.png.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/datadistill distill --method dc --dataset digits --ipc 1 --iterations 200 --final-eval 5 \
  --out runs/quickstart --resume "$@"
