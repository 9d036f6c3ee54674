"""Seconds per distillation iteration of every method on MNIST, against the reference (issue 7b).

  python bench/bench_steps.py                                  # every row below
  python bench/bench_steps.py --rows dm:1 dm:10 dm:50          # some rows (method:ipc)
  python bench/bench_steps.py --experts bench/out/experts_mnist   # MTT on an existing buffer

Each row runs the method's published settings through api.distill for one warm-up iteration plus --iters (fewer
for the slow IPC-10 gradient-matching rows) and takes the median. The reference figures are the public reference
code measured on this machine class (shared/REFERENCE.md, 'Measured here'): DC, DSA and DM only; MTT and DD have
none there. MTT's step does not depend on which expert epoch it starts from, so without --experts it trains a
one-expert, one-epoch buffer and times with max_start_epoch=0, expert_epochs=1 (marked in the table).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch  # noqa: E402
from common import ROOT, append_jsonl, append_markdown, command_line, machine, peak_rss_mb, reference_s  # noqa: E402

from datadistill import api  # noqa: E402
from datadistill.experts import ExpertConfig, train_experts  # noqa: E402
from datadistill.runtime import effective_precision, setup_runtime  # noqa: E402

ROWS = ["dc:1", "dsa:1", "dc:10", "dsa:10", "dm:1", "dm:10", "dm:50", "mtt:1", "mtt:10", "dd:10"]
SLOW = {("dc", 10): 2, ("dsa", 10): 2}  # iterations measured for rows of ~1.5 min each


def settings(method: str, args: argparse.Namespace, experts: Path | None) -> tuple[dict, str]:
    """The api.distill keyword arguments of a row and a note for the table."""
    if method in ("dc", "dsa", "dm"):
        used = effective_precision(torch.device("cpu"), "bf16")
        return {"precision": "bf16"}, "bf16 autocast" if used == "bf16" else "bf16 setting, float32 here (no native bf16)"
    if method == "mtt":
        if args.experts:
            return {"expert_dir": str(args.experts)}, "published CIFAR settings for the IPC, fp32"
        return ({"expert_dir": str(experts), "max_start_epoch": 0, "expert_epochs": 1},
                "published syn_steps for the IPC, fp32; 1-epoch timing buffer (start epoch 0)")
    return {"model": "lenet", "init": "fixed"}, "LeNet, 10 steps x 3 epochs, fixed init, fp32"


def timing_buffer(data, tmp: Path) -> Path:
    """A one-expert, one-epoch buffer: enough to time an MTT iteration."""
    out = tmp / "experts_timing"
    train_experts(data, ExpertConfig(epochs=1, precision="bf16"), out, 1)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", nargs="+", default=ROWS, help="method:ipc")
    p.add_argument("--iters", type=int, default=6)
    p.add_argument("--experts", type=Path, default=None)
    p.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args()
    setup_runtime(None)
    data = api.resolve_data("mnist", args.data_root)
    experts = None
    if any(r.startswith("mtt") for r in args.rows) and not args.experts:
        experts = timing_buffer(data, ROOT / "bench" / "out")
    t_all = time.perf_counter()
    lines = []
    for row in args.rows:
        method, ipc = row.split(":")[0], int(row.split(":")[1])
        kw, note = settings(method, args, experts)
        n = SLOW.get((method, ipc), args.iters)
        times: list[float] = []
        api.distill(data, method, ipc, iterations=n + 1, seed=0,
                    callback=lambda e, times=times: times.append(e["s_per_iter"]) if e["event"] == "step" else None,
                    **kw)
        med = statistics.median(times[1:])
        ref = reference_s(method, ipc, kw.get("model"))
        speed = f"{ref / med:.2f}x" if ref else "-"
        met = ("yes" if ref / med >= 2 else "no") if ref else "no reference figure"
        lines.append(f"| {method.upper()} | {ipc} | {med:.2f} | {ref or '-'} | {speed} | {met} | {n} | {note} |")
        append_jsonl({"bench": "step_times", "method": method, "dataset": "mnist", "ipc": ipc, "protocol": None,
                      "iterations": n, "s_per_iter": round(med, 3), "reference_s_per_iter": ref,
                      "speedup": round(ref / med, 2) if ref else None, "wall_s": round(sum(times), 1),
                      "peak_rss_mb": peak_rss_mb(), "budgeted": False, "command": command_line(), "note": note})
    m = machine()
    append_markdown(
        "Seconds per distillation iteration, every method (MNIST)",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}; wall "
        f"{time.perf_counter() - t_all:.0f} s. Median over the measured iterations after one warm-up; reference: "
        "the public code on this machine class (REFERENCE.md 'Measured here'); target >= 2x.\n\n"
        "| method | IPC | s / iteration | reference | speed-up | >= 2x | iterations | settings |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
