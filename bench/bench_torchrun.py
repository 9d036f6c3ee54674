"""torchrun with 2 processes against 1 on the same machine (issue 7d): distillation, experts, evaluation.

  python bench/bench_torchrun.py                       # all three parts, MNIST
  python bench/bench_torchrun.py --parts distill --method dm --iterations 30

Every part runs the same CLI command twice: once as one process using every core, once under
`torchrun --standalone --nproc-per-node 2` (each process then takes half the cores). It records the wall time of
both, the seconds per iteration of distillation (median, from metrics.jsonl), and how far the results are apart
(largest image difference; evaluation accuracies and expert accuracies side by side).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, append_jsonl, append_markdown, command_line, machine  # noqa: E402

from datadistill import api  # noqa: E402


def cli(args: list[str], nproc: int) -> float:
    """Run `datadistill ARGS` in nproc processes; returns the wall seconds."""
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"] \
        if nproc > 1 else [sys.executable]
    t0 = time.perf_counter()
    done = subprocess.run([*launch, "-m", "datadistill", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if done.returncode:
        raise RuntimeError(f"{' '.join(args[:3])} with {nproc} process(es) failed: {done.stderr.strip()[-800:]}")
    return time.perf_counter() - t0


def distill_part(args: argparse.Namespace, tmp: Path) -> dict:
    base = ["distill", "--method", args.method, "--dataset", "mnist", "--ipc", str(args.ipc), "--data-root",
            args.data_root, "--iterations", str(args.iterations), "--final-eval", "0", "--no-compare-random",
            "--device", "cpu"]
    row = {}
    for n in (1, 2):
        out = tmp / f"distill_{n}"
        wall = cli([*base, "--out", str(out)], n)
        steps = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if '"loss"' in x]
        row[n] = {"wall_s": wall, "s_per_iter": statistics.median(r["s_per_iter"] for r in steps[1:])}
    a, b = api.load(tmp / "distill_1"), api.load(tmp / "distill_2")
    row["max_image_diff"] = float((a.images - b.images).abs().max())
    return row


def experts_part(args: argparse.Namespace, tmp: Path) -> dict:
    base = ["experts", "--dataset", "mnist", "--data-root", args.data_root, "--number", str(args.experts),
            "--epochs", str(args.expert_epochs), "--device", "cpu"]
    row = {}
    for n in (1, 2):
        out = tmp / f"experts_{n}"
        row[n] = {"wall_s": cli([*base, "--out", str(out)], n),
                  "accs": [e["test_acc"] for e in json.loads((out / "manifest.json").read_text())["experts"]]}
    return row


def evaluate_part(args: argparse.Namespace, tmp: Path) -> dict:
    syn = tmp / "random.safetensors"
    cli(["baseline", "random", "--dataset", "mnist", "--ipc", str(args.ipc), "--data-root", args.data_root,
         "--out", str(syn), "--protocol", "dc2021"], 1)
    base = ["evaluate", str(syn), "--runs", str(args.models), "--data-root", args.data_root, "--device", "cpu"]
    row = {}
    for n in (1, 2):
        row[n] = {"wall_s": cli([*base, "--no-save"], n)}
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", nargs="+", default=["distill", "experts", "evaluate"],
                   choices=["distill", "experts", "evaluate"])
    p.add_argument("--method", default="dm", choices=["dc", "dsa", "dm"])
    p.add_argument("--ipc", type=int, default=10)
    p.add_argument("--iterations", type=int, default=30)
    p.add_argument("--experts", type=int, default=2)
    p.add_argument("--expert-epochs", type=int, default=1)
    p.add_argument("--models", type=int, default=4, help="evaluate: models (dc2021, 300 epochs)")
    p.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args()
    m = machine()
    parts = {"distill": distill_part, "experts": experts_part, "evaluate": evaluate_part}
    lines = []
    with tempfile.TemporaryDirectory() as d:
        for name in args.parts:
            row = parts[name](args, Path(d))
            one, two = row[1], row[2]
            what = {"distill": f"{args.method} MNIST IPC {args.ipc}, {args.iterations} iterations",
                    "experts": f"{args.experts} experts x {args.expert_epochs} epoch(s), MNIST",
                    "evaluate": f"{args.models} ConvNets x 300 epochs (dc2021) on random real IPC {args.ipc}"}[name]
            extra = ""
            if name == "distill":
                extra = (f"s/iteration {one['s_per_iter']:.2f} vs {two['s_per_iter']:.2f}; largest image "
                         f"difference {row['max_image_diff']:.1e}")
            elif name == "experts":
                extra = f"expert test accuracies {one['accs']} vs {two['accs']}"
            lines.append(f"| {name} | {what} | {one['wall_s']:.0f} s | {two['wall_s']:.0f} s | "
                         f"{one['wall_s'] / two['wall_s']:.2f}x | {extra} |")
            append_jsonl({"bench": "torchrun", "method": args.method if name == "distill" else name,
                          "dataset": "mnist", "ipc": args.ipc, "protocol": None, "part": name,
                          "iterations": args.iterations if name == "distill" else None,
                          "wall_s": round(two["wall_s"], 1), "wall_s_one_process": round(one["wall_s"], 1),
                          "s_per_iter": round(two["s_per_iter"], 3) if name == "distill" else None,
                          "budgeted": False, "command": command_line(), "processes": 2,
                          **({"max_image_diff": row["max_image_diff"]} if name == "distill" else {})})
    append_markdown(
        "torchrun: 2 processes against 1 on the same machine",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}. One process "
        f"uses all {m['cores']} cores; under torchrun each of the 2 processes uses half. Wall time of the whole "
        "command (start-up and data loading included).\n\n"
        "| part | work | 1 process | 2 processes | speed-up | notes |\n| --- | --- | --- | --- | --- | --- |\n"
        + "\n".join(lines))


if __name__ == "__main__":
    main()
