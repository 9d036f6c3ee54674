"""Shared helpers of the benchmarks: machine facts, peak memory, and writing results.jsonl / results.md."""
from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import resource
import shlex
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch

# `kill PID` ends a benchmark like Ctrl-C: a distillation run keeps its finished iterations (rerun to resume)
signal.signal(signal.SIGTERM, signal.default_int_handler)


def _interrupted_hook(kind: type[BaseException], value: BaseException, tb: Any, _default=sys.excepthook) -> None:
    """Ctrl-C or `kill` ends a benchmark with one line, not a traceback; every other error keeps its traceback."""
    if issubclass(kind, KeyboardInterrupt):
        print("interrupted: a distillation run keeps its finished iterations (checkpoint); rerun the same command "
              "to resume", file=sys.stderr)
        return
    _default(kind, value, tb)


sys.excepthook = _interrupted_hook

ROOT = Path(__file__).resolve().parents[1]
RESULTS_JSONL = ROOT / "bench" / "results.jsonl"
RESULTS_MD = ROOT / "docs" / "results.md"
# The reference implementation's seconds per iteration on this machine class (shared/REFERENCE.md, 'Measured here'),
# timed with the paper's ConvNet.
REFERENCE_S = {("dc", 1): 6.1, ("dsa", 1): 6.7, ("dc", 10): 174.0, ("dsa", 10): 205.0,
               ("dm", 1): 2.3, ("dm", 10): 2.8, ("dm", 50): 3.4}


def reference_s(method: str, ipc: int, model: str | None = None) -> float | None:
    """REFERENCE_S for a method and IPC; None for a setting never timed or a run on another network than the paper's
    ConvNet (`model`, a model spec; None is the method's default), which the figure would not match."""
    from datadistill.published import ablation_spec

    if model is not None and ablation_spec(model) != "convnet":
        return None
    return REFERENCE_S.get((method, ipc))


KEYS = ("bench", "method", "dataset", "ipc", "protocol", "acc_mean", "acc_std", "n_models", "iterations",
        "wall_s", "s_per_iter", "peak_rss_mb", "budgeted", "command", "torch", "cores", "date")


def peak_rss_mb() -> float:
    """Peak resident memory of this process (and finished children) in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(own / 1024, 1)


def command_line() -> str:
    """The exact command that ran this benchmark."""
    return " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])


def progress(label: str, t0: float) -> Callable[[int, float], None]:
    """An on_model callback printing one line per tested network (long evaluations run for hours)."""
    def say(i: int, acc: float) -> None:
        print(f"{label} model {i}: {acc:.2f} ({(time.perf_counter() - t0) / 60:.1f} min in)", flush=True)
    return say


def time_calls(fn, reps: int, warmup: int = 1) -> tuple[float, float]:
    """Median seconds of `reps` calls of fn after `warmup` untimed ones, and the time of the very first call."""
    t = time.perf_counter()
    fn()
    first = time.perf_counter() - t
    for _ in range(warmup - 1):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), first


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ('unknown' where there is none)."""
    from datadistill.runtime import cpuinfo_text

    names = [line.partition(":")[2].strip() for line in cpuinfo_text().splitlines() if line.startswith("model name")]
    return f"{names[0] if names else 'unknown'} ({torch.backends.cpu.get_cpu_capability()})"


def machine() -> dict[str, Any]:
    """Cores, CPU model and whether it computes bf16 natively, torch version, date."""
    from datadistill.runtime import native_bf16

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"torch": torch.__version__, "cores": cores, "threads": torch.get_num_threads(), "cpu": cpu_model(),
            "cpu_bf16": native_bf16(torch.device("cpu")),
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


@functools.cache
def code_version() -> dict[str, Any]:
    """The library version and the git commit the benchmark ran on (None outside a git checkout): read once, when
    the benchmark starts (below), so commits made while a long run goes on do not change what it records."""
    import subprocess

    import datadistill

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=ROOT, check=True).stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {"version": datadistill.__version__, "commit": commit}


code_version()


def append_jsonl(record: dict[str, Any]) -> None:
    """Append one result with every key of KEYS (missing ones as null), plus version and commit."""
    m = {**machine(), **code_version()}
    full = {k: record.get(k, m.get(k)) for k in KEYS}
    full.update({k: m[k] for k in ("version", "commit", "cpu", "cpu_bf16") if k not in record})
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
    m = machine()
    cpu = f"CPU: {m['cpu']}, {'native' if m['cpu_bf16'] else 'no native'} bf16 (bf16 settings computed in " \
          f"{'bf16' if m['cpu_bf16'] else 'float32'})."
    with RESULTS_MD.open("a") as f:
        f.write(f"\n## {title}\n\n{body.strip()}\n\n{cpu}\n")


CHILD_CODE = """
import json, os, re, time, torch
from datadistill import api
def status(key):
    return int(re.search(key + r':\\s+(\\d+)', open('/proc/self/status').read()).group(1)) / 1024
def reset_peak():
    open('/proc/self/clear_refs', 'w').write('5')  # the kernel's high-water mark restarts from the current RSS
torch.set_num_threads(len(os.sched_getaffinity(0)))
torch.set_flush_denormal(True)
d = api.resolve_data({dataset!r}, {data_root!r})
load_peak = status('VmHWM')
reset_peak()  # what follows is the run's own
base = status('VmRSS')
marks = {{}}
def after_first_step(event):
    if event.get('event') == 'step' and 'step_base' not in marks:
        marks['first_peak'] = status('VmHWM')
        reset_peak()
        marks['step_base'] = status('VmRSS')
t = time.perf_counter()
api.distill(d, {args}, callback=after_first_step)
seconds = time.perf_counter() - t
peak = status('VmHWM')
run_peak = max(peak, marks.get('first_peak', peak))
print(json.dumps({{"run_mb": run_peak - base, "base_mb": base, "process_peak_mb": max(run_peak, load_peak),
                  "step_mb": peak - marks['step_base'] if 'step_base' in marks else None, "seconds": seconds}}))
"""

# glibc: every allocation of 64 KiB or more is its own mapping, returned to the OS when freed, so the resident
# size tracks the live tensors (the default dynamic threshold keeps freed blocks, hiding later phases' needs).
CHILD_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "0"}


def child_distill_peak(dataset: str, data_root: str, distill_args: str) -> dict[str, float]:
    """Memory and seconds of api.distill(d, <distill_args>) in a fresh process that first loads `dataset`.

    Returns run_mb (peak resident memory above the level right after loading: the run's own memory, measured
    by resetting the kernel's high-water mark through /proc/self/clear_refs), step_mb (peak of iterations 2..N
    above the memory held after the first: what one distillation step needs beyond the state it keeps; None
    for a single iteration), base_mb, process_peak_mb (whole process, loading included) and seconds. A
    separate process per measurement, with glibc returning every freed block of 64 KiB or more to the OS
    (CHILD_ENV), so memory freed by an earlier phase does not hide what a later one needs. Linux only.
    """
    import json
    import subprocess

    code = CHILD_CODE.format(dataset=dataset, data_root=data_root, args=distill_args)
    env = {**os.environ, **CHILD_ENV}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    if out.returncode:
        raise RuntimeError(f"measuring api.distill(d, {distill_args}) failed: {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
