"""Two ways to train the evaluation networks, wall time each way: M networks trained on an MNIST IPC-10 set.

  python bench/bench_eval.py --models 20 --epochs 300            # batched vs sequential (issue 7a's setting)
  python bench/bench_eval.py --models 20 --epochs 30             # a shortened run (says so)
  python bench/bench_eval.py --compare compile --protocol dc2021-aug --models 3 --epochs 1000
                                                                 # torch.compile vs eager, the MNIST protocol
  python bench/bench_eval.py --compare allocator --protocol quick --ipc 1 --models 5
                                                                 # glibc heap kept (2 GB) vs trimmed at 1 GB

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
from datadistill.runtime import setup_runtime, tune_allocator  # noqa: E402

# --compare: the two paths, each (bench name, row label, EvalSpec options, process setting applied first)
PATHS = {
    "batched": [("eval_batched", "batched (vmap over stacked parameters)", {"batched": True}, None),
                ("eval_sequential", "sequential (one model after another)", {}, None)],
    "compile": [("eval_compiled", "compiled (torch.compile, inductor)", {"compile": True}, None),
                ("eval_eager", "eager", {}, None)],
    # runtime.tune_allocator's thresholds now, and before 2026-12-04 (trim at 1 GB, glibc's 128 KB top pad)
    "allocator": [("eval_heap_kept", "heap kept (trimmed at 2 GB free, 256 MB top pad)", {}, tune_allocator),
                  ("eval_heap_trimmed", "heap trimmed (at 1 GB free, 128 KB top pad)", {},
                   lambda: tune_allocator(keep_free=2**30, top_pad=128 * 1024))],
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", type=int, default=20)
    p.add_argument("--compare", choices=sorted(PATHS), default="batched")
    p.add_argument("--protocol", default="dc2021")
    p.add_argument("--epochs", type=int, default=None, help="default: the protocol's")
    p.add_argument("--ipc", type=int, default=10)
    p.add_argument("--model", default="convnet")
    p.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args()
    setup_runtime(None)
    data = api.resolve_data("mnist", args.data_root)
    syn = random_real(data, args.ipc, 0)
    full = get_protocol(args.protocol)
    proto = get_protocol(args.protocol, epochs=full.epochs if args.epochs is None else args.epochs)
    paths = PATHS[args.compare]
    res, wall = [], []
    for _, _, options, prepare in paths:
        if prepare is not None:
            prepare()
        t0 = time.perf_counter()
        res.append(evaluate_tensors(syn.images, syn.labels, data.info, data.test,
                                    EvalSpec(args.model, proto, args.models, seed=0, **options)))
        wall.append(time.perf_counter() - t0)
    speed = wall[1] / wall[0]
    diff = max(abs(a - b) for a, b in zip(res[0].accs, res[1].accs))
    short = "" if proto.epochs == full.epochs else f" (shortened: {proto.epochs} of the protocol's {full.epochs} epochs)"
    for (bench, *_), r, w in zip(paths, res, wall):
        append_jsonl({"bench": bench, "method": "random", "dataset": "mnist", "ipc": args.ipc,
                      "protocol": f"{proto.name}/{proto.epochs}ep", "acc_mean": round(r.mean, 2),
                      "acc_std": round(r.std, 2), "n_models": args.models, "iterations": proto.epochs,
                      "wall_s": round(w, 1), "peak_rss_mb": peak_rss_mb(), "budgeted": False,
                      "command": command_line(), "speedup": round(speed, 2), "model": args.model,
                      "precision": r.config["precision"]})
    m = machine()
    rows = "".join(f"| {label} | {w:.0f} s | {r.mean:.2f} +- {r.std:.2f} |\n" for (_, label, *_), r, w in
                   zip(paths, res, wall))
    append_markdown(
        f"Evaluation of {args.models} {args.model}s on MNIST IPC {args.ipc}, {proto.name}: "
        f"{paths[0][1].split(' (')[0]} vs {paths[1][1].split(' (')[0]}{short}",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}; "
        f"{res[0].config['precision']}.\n\n"
        "| path | wall | accuracy (%) |\n| --- | --- | --- |\n" + rows + "\n"
        f"Speed-up **{speed:.2f}x**; largest per-model accuracy difference {diff:.2f} points (same seeds).")


if __name__ == "__main__":
    main()
