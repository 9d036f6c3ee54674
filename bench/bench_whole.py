"""Whole-dataset upper bound of the DC paper's Table 1 (issue 5): ConvNets trained on the full training split.

  python bench/bench_whole.py --dataset mnist --models 2
  python bench/bench_whole.py --dataset fashion-mnist --models 2 --epochs 20

The recipe is baselines.WHOLE (the evaluation SGD settings, bf16, `--epochs` with the lr step at half; the papers
train to convergence on a GPU). Every trained model's accuracy is cached in bench/out/cache/whole.jsonl as soon as
it is known, so an interrupted run, or a later one with more `--models`, trains only the models still missing;
the model in training is saved after every epoch (bench/out/cache/whole-progress/), so a run stopped mid-model
continues from its last epoch. `--compile` runs the training passes through torch.compile (the same recipe; it
pays for some networks only: bench_compile.py --archs). Results go to bench/results.jsonl and docs/results.md.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, append_jsonl, append_markdown, command_line, machine, peak_rss_mb, progress  # noqa: E402

from datadistill import api  # noqa: E402
from datadistill.baselines import WHOLE, whole_dataset  # noqa: E402
from datadistill.published import WHOLE as PUBLISHED_WHOLE  # noqa: E402
from datadistill.runtime import setup_runtime  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    p.add_argument("--model", default="convnet")
    p.add_argument("--models", type=int, default=2, help="networks trained on the whole training split")
    p.add_argument("--epochs", type=int, default=WHOLE.epochs)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--compile", action="store_true", help="torch.compile the training passes (same recipe)")
    p.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args()
    setup_runtime(None)
    data = api.resolve_data(args.dataset, args.data_root)
    recipe = replace(WHOLE, epochs=args.epochs)
    t0 = time.perf_counter()
    res = whole_dataset(data, api.EvalSpec(args.model, recipe, args.models, args.seed, compile=args.compile),
                        cache_dir=ROOT / "bench" / "out" / "cache",
                        on_model=progress(f"whole {args.dataset}", t0))
    wall = time.perf_counter() - t0
    cached = res.config.get("cached_models", 0)
    resumed = res.config.get("resumed_epochs", {})
    pub = PUBLISHED_WHOLE.get(args.dataset, "-") if args.model == "convnet" else "-"  # the papers: ConvNet only
    append_jsonl({"bench": "whole", "method": "whole", "dataset": args.dataset, "ipc": None,
                  "protocol": f"whole ({args.epochs} epochs)", "acc_mean": round(res.mean, 2),
                  "acc_std": round(res.std, 2), "n_models": len(res.accs), "iterations": 0, "wall_s": round(wall, 1),
                  "peak_rss_mb": peak_rss_mb(), "budgeted": False, "command": command_line(), "model": args.model,
                  "accs": res.accs, "cached_models": cached, "published": pub, "compiled": args.compile,
                  "resumed_epochs": {str(i): e for i, e in resumed.items()}})
    m = machine()
    short = "" if args.epochs == WHOLE.epochs else f", **shortened** from the recipe's {WHOLE.epochs}"
    append_markdown(
        f"Whole-dataset upper bound, {args.dataset}, {args.model}",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}. Recipe: "
        f"baselines.WHOLE with {args.epochs} epochs (bf16, lr step at half{', torch.compile' if args.compile else ''})"
        f"{short}. {cached} of {len(res.accs)} models "
        f"came from the cache (trained by an earlier run); the wall time is this run's"
        f"{continued(resumed)}.\n\n"
        "| model | ours (%) | published (the papers give ConvNet only, trained to convergence) | models | wall |\n"
        "| --- | --- | --- | --- | --- |\n"
        f"| {args.model} | {res.mean:.2f} +- {res.std:.2f} | {pub} | {len(res.accs)} | {wall / 60:.1f} min |")


def continued(resumed: dict[int, int]) -> str:
    """What a wall time leaves out when models continued from an earlier run's per-epoch checkpoint."""
    if not resumed:
        return ""
    parts = ", ".join(f"model {i} from epoch {e}" for i, e in sorted(resumed.items()))
    return f" ({parts} continued from a checkpoint: those epochs ran in an earlier run and are not in it)"


if __name__ == "__main__":
    main()
