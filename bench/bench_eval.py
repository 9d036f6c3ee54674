"""Batched vs sequential evaluation (issue 7a): M ConvNets trained on an MNIST IPC-10 set, wall time each way.

  python bench/bench_eval.py --models 20 --epochs 300            # the issue's setting
  python bench/bench_eval.py --models 20 --epochs 30             # a shortened run (says so)

The set is random real MNIST images (the cost does not depend on what the images are). Both paths use the
same seeds; the accuracies are printed side by side (they agree up to float summation order).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, append_jsonl, append_markdown, command_line, machine, peak_rss_mb  # noqa: E402

from datadistill import api, random_real  # noqa: E402
from datadistill.evaluate import EvalSpec, evaluate_tensors, get_protocol  # noqa: E402
from datadistill.runtime import setup_runtime  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", type=int, default=20)
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--ipc", type=int, default=10)
    p.add_argument("--model", default="convnet")
    p.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args()
    setup_runtime(None)
    data = api.resolve_data("mnist", args.data_root)
    syn = random_real(data, args.ipc, 0)
    proto = get_protocol("dc2021", epochs=args.epochs)
    res, wall = {}, {}
    for batched in (True, False):
        t0 = time.perf_counter()
        res[batched] = evaluate_tensors(syn.images, syn.labels, data.info, data.test,
                                        EvalSpec(args.model, proto, args.models, seed=0, batched=batched))
        wall[batched] = time.perf_counter() - t0
    speed = wall[False] / wall[True]
    diff = max(abs(a - b) for a, b in zip(res[True].accs, res[False].accs))
    short = "" if args.epochs == 300 else f" (shortened: {args.epochs} of the protocol's 300 epochs)"
    for batched in (True, False):
        append_jsonl({"bench": "eval_batched" if batched else "eval_sequential", "method": "random",
                      "dataset": "mnist", "ipc": args.ipc, "protocol": f"dc2021/{args.epochs}ep",
                      "acc_mean": round(res[batched].mean, 2), "acc_std": round(res[batched].std, 2),
                      "n_models": args.models, "iterations": args.epochs, "wall_s": round(wall[batched], 1),
                      "peak_rss_mb": peak_rss_mb(), "budgeted": False, "command": command_line(),
                      "speedup": round(speed, 2)})
    m = machine()
    append_markdown(
        f"Evaluation of {args.models} {args.model}s on MNIST IPC {args.ipc}: batched vs sequential{short}",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}.\n\n"
        "| path | wall | accuracy (%) |\n| --- | --- | --- |\n"
        f"| batched (vmap over stacked parameters) | {wall[True]:.0f} s | {res[True].mean:.2f} +- {res[True].std:.2f} |\n"
        f"| sequential (one model after another) | {wall[False]:.0f} s | {res[False].mean:.2f} +- {res[False].std:.2f} |\n\n"
        f"Speed-up **{speed:.2f}x**; largest per-model accuracy difference {diff:.2f} points (same seeds).")


if __name__ == "__main__":
    main()
