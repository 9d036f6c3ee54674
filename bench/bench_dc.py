"""DC / DSA benchmarks (issue 2): the commands in docs/results.md; the same script as bench_distill.py.

  python bench/bench_dc.py timing --method dc --ipc 1 --iters 8
  python bench/bench_dc.py run --method dsa --ipc 10 --budget 2h --eval-every 10
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_distill import main  # noqa: E402

if __name__ == "__main__":
    main(default_method="dc")
