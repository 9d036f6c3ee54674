"""Cross-architecture row of a distilled set (issue 5; the DC paper's Figure 3): the set trained on every
architecture, next to the published row of ConvNet-made DC images on MNIST at IPC 1.

  python bench/bench_crossarch.py bench/out/dc_mnist_ipc1_s0 --runs 5
  python bench/bench_crossarch.py RUN --models mlp,lenet --runs 2       # some columns

Each cell trains `--runs` fresh networks with the protocol the set was made for and is saved with the artifact
as soon as it is done (the evaluation cache), so a stopped run keeps its finished cells and rerunning the same
command goes on with the next one. The section in docs/results.md is written when every cell is known.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, append_jsonl, append_markdown, command_line, machine, peak_rss_mb  # noqa: E402

from datadistill import api  # noqa: E402
from datadistill.evaluate.crossarch import cross_architecture  # noqa: E402
from datadistill.published import published_crossarch  # noqa: E402
from datadistill.runtime import setup_runtime  # noqa: E402
from datadistill.synthetic import resolve_artifact  # noqa: E402

MODELS = "mlp,convnet,lenet,alexnet,vgg11,resnet18"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, help="run folder or artifact")
    p.add_argument("--models", default=MODELS)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args()
    setup_runtime(None)
    path = resolve_artifact(args.run)
    syn = api.load(path)
    data = api.resolve_data(syn.info.name, args.data_root)
    protocol = syn.config.get("protocol") or "dc2021"
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    walls: dict[str, float] = {}

    def one(s, model):
        t = time.perf_counter()
        res = api.evaluate(s, data, model=model, runs=args.runs, protocol=protocol, seed=args.seed)
        walls[model] = time.perf_counter() - t
        print(f"{model}: {res.mean:.2f} +- {res.std:.2f} ({walls[model] / 60:.1f} min)", flush=True)
        return res

    result = cross_architecture([("set", syn)], names, args.runs, one, lambda s: protocol, args.seed,
                                on_new=lambda label, s: s.save(path))
    made_with = syn.config.get("model", "convnet")
    rows = []
    pub_row = published_crossarch(syn.method, syn.info.name, syn.ipc, made_with)
    for m in names:
        r = result.cells[("set", m)]
        pub = pub_row.get(m)
        gap = f"{r.mean - pub:+.1f}" if pub is not None else "-"
        wall = f"{walls[m] / 60:.1f} min" if m in walls else "cached"
        rows.append(f"| {m} | {r.mean:.2f} +- {r.std:.2f} | {pub if pub is not None else '-'} | {gap} | {wall} |")
        append_jsonl({"bench": "crossarch", "method": syn.method, "dataset": syn.info.name, "ipc": syn.ipc,
                      "protocol": protocol, "acc_mean": round(r.mean, 2), "acc_std": round(r.std, 2),
                      "n_models": len(r.accs), "iterations": syn.config.get("completed_iterations"),
                      "wall_s": round(walls[m], 1) if m in walls else None, "peak_rss_mb": peak_rss_mb(),
                      "budgeted": False, "command": command_line(), "made_with": made_with, "trained_on": m,
                      "published": pub, "cached": m not in walls})
    mach = machine()
    append_markdown(
        f"Cross-architecture: {syn.method.upper()} {syn.info.name} IPC {syn.ipc}, made with {made_with}",
        f"Command: `{command_line()}`  \nMachine: {mach['cores']} cores, torch {mach['torch']}, {mach['date']}. "
        f"Set: `{args.run}`; every cell {args.runs} fresh networks, protocol {protocol}, seed {args.seed}; "
        "cells marked cached were computed by an earlier command (evaluation cache in the artifact).\n\n"
        "| trained on | accuracy (%) | published | ours - published | wall |\n| --- | --- | --- | --- | --- |\n"
        + "\n".join(rows))


if __name__ == "__main__":
    main()
