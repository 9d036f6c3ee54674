"""Shared helpers of the benchmarks: machine facts, peak memory, and writing results.jsonl / results.md."""
from __future__ import annotations

import datetime as _dt
import json
import os
import resource
import shlex
import sys
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS_JSONL = ROOT / "bench" / "results.jsonl"
RESULTS_MD = ROOT / "docs" / "results.md"
KEYS = ("bench", "method", "dataset", "ipc", "protocol", "acc_mean", "acc_std", "n_models", "iterations",
        "wall_s", "s_per_iter", "peak_rss_mb", "budgeted", "command", "torch", "cores", "date")


def peak_rss_mb() -> float:
    """Peak resident memory of this process (and finished children) in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(own / 1024, 1)


def command_line() -> str:
    """The exact command that ran this benchmark."""
    return " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])


def machine() -> dict[str, Any]:
    """Cores, torch version, date."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"torch": torch.__version__, "cores": cores, "threads": torch.get_num_threads(),
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def append_jsonl(record: dict[str, Any]) -> None:
    """Append one result with every key of KEYS (missing ones as null)."""
    m = machine()
    full = {k: record.get(k, m.get(k)) for k in KEYS}
    full.update({k: v for k, v in record.items() if k not in full})
    RESULTS_JSONL.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS_JSONL.open("a") as f:
        f.write(json.dumps(full) + "\n")


def append_markdown(title: str, body: str) -> None:
    """Append a section to docs/results.md (created with a header when absent)."""
    RESULTS_MD.parent.mkdir(parents=True, exist_ok=True)
    if not RESULTS_MD.exists():
        RESULTS_MD.write_text("# Measured results\n\nEvery number here was produced by a script in `bench/` "
                              "with the command shown; shortened or budgeted runs say so.\n")
    with RESULTS_MD.open("a") as f:
        f.write(f"\n## {title}\n\n{body.strip()}\n")


def child_distill_peak(dataset: str, data_root: str, distill_args: str) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of a fresh process that loads `dataset` and runs api.distill(d, <args>).

    A separate process per measurement, because a process's peak RSS never goes down.
    """
    import subprocess

    code = ("import resource, time; from datadistill import api; from datadistill.runtime import setup_runtime; "
            f"setup_runtime(None); d = api.resolve_data({dataset!r}, {data_root!r}); t = time.perf_counter(); "
            f"api.distill(d, {distill_args}); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    peak, seconds = out.stdout.split()[-2:]
    return float(peak), float(seconds)
