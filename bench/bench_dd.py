"""DD on MNIST (issue 3): the paper's setting (LeNet, 10 steps x 3 epochs, 100 images), its Table-1 baselines,
and the peak memory of the plain and constant-memory unroll.

  python bench/bench_dd.py run --init fixed --budget 1h            # resumable; budget = distillation time
  python bench/bench_dd.py run --init random --budget 1h --models 20
  python bench/bench_dd.py baselines --models 20                   # random / optimised real, k-means, average, k-NN
  python bench/bench_dd.py memory                                  # peak RSS of one iteration, plain vs constant

Baselines follow the paper: the same 10 x 3 GD steps on the baseline images, the best of the learning-rate grid
{0.001, 0.003, 0.01, 0.03, 0.1, 0.3} x epochs {1, 3, 5}, on fresh random (Xavier) LeNets.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch  # noqa: E402
from common import (  # noqa: E402
    ROOT,
    append_jsonl,
    append_markdown,
    child_distill_peak,
    command_line,
    machine,
    peak_rss_mb,
)

from datadistill import api  # noqa: E402
from datadistill.baselines import class_average, kmeans_centroids, knn_accuracy, random_real  # noqa: E402
from datadistill.cli.main import parse_budget  # noqa: E402
from datadistill.coresets import coreset_set  # noqa: E402
from datadistill.evaluate import EvalResult, EvalSpec, evaluate_any, get_protocol  # noqa: E402
from datadistill.runtime import setup_runtime  # noqa: E402

PUBLISHED = {"fixed": "96.6 (10 steps x 3 epochs)", "random": "79.5 +- 8.1"}
LR_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
EPOCH_GRID = (1, 3, 5)


def run(args: argparse.Namespace, data) -> None:
    """A DD run (resumable, budgeted) and its replay evaluation."""
    out = ROOT / "bench" / "out" / f"dd_mnist_{args.init}_s{args.seed}"
    budget = parse_budget(args.budget)
    syn = api.distill(data, "dd", 10, out=out, resume=True, seed=args.seed, budget_s=budget, model="lenet",
                      init=args.init, eval_every=args.eval_every, eval_models=args.curve_models,
                      final_eval_models=args.models, memory=args.memory, iterations=args.iterations)
    res = EvalResult.from_dict(syn.evaluations[-1])
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    steps = [r for r in records if "s_per_iter" in r]
    curve = [[r["iteration"] + 1, round(r["eval"]["mean"], 2)] for r in records if "eval" in r]
    rec = {"bench": "dd_run", "method": "dd", "dataset": "mnist", "ipc": 10, "protocol": "dd2018",
           "acc_mean": round(res.mean, 2), "acc_std": round(res.std, 2), "n_models": len(res.accs),
           "iterations": syn.config["completed_iterations"], "wall_s": syn.config.get("distill_s"),
           "s_per_iter": round(statistics.median(r["s_per_iter"] for r in steps), 3), "peak_rss_mb": peak_rss_mb(),
           "budgeted": budget is not None, "command": command_line(), "init": args.init, "curve": curve,
           "lrs": [round(x, 4) for x in syn.lrs.tolist()]}
    append_jsonl(rec)
    m = machine()
    kind = f"budgeted ({args.budget} of distillation time)" if budget else "full run"
    append_markdown(
        f"DD MNIST, LeNet, 10 steps x 3 epochs, {args.init} init: {kind}",
        f"Command: `{rec['command']}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}.\n\n"
        f"| | accuracy (%) | models | iterations | s / iteration | distillation time | peak RSS |\n"
        f"| --- | --- | --- | --- | --- | --- | --- |\n"
        f"| datadistill | {res.mean:.2f} +- {res.std:.2f} | {len(res.accs)} | {rec['iterations']} | "
        f"{rec['s_per_iter']:.2f} | {(rec['wall_s'] or 0) / 60:.1f} min | {rec['peak_rss_mb']:.0f} MB |\n"
        f"| published (paper) | {PUBLISHED[args.init]} | | 23,600 (400 passes) | | | |\n\n"
        f"Accuracy vs iteration: {', '.join(f'{i}: {a}' for i, a in curve) or '-'}.  \n"
        f"Learned lrs (epoch-major): {', '.join(f'{x:.3f}' for x in rec['lrs'])}.")


def _grid_best(images, labels, data, models: int, seed: int) -> tuple[float, float, str]:
    """Best mean accuracy over the lr x epochs grid with 10 GD steps per epoch on fresh Xavier LeNets."""
    best = (-1.0, 0.0, "")
    per_step = len(images) // (10 * data.info.num_classes)
    order = torch.cat([torch.nonzero(labels == c).flatten() for c in range(data.info.num_classes)])
    x, y = images[order], labels[order]  # class-major -> step-major: step s takes image s of every class
    x = x.view(data.info.num_classes, 10 * per_step, *x.shape[1:]).transpose(0, 1).reshape(images.shape)
    y = y.view(data.info.num_classes, -1).T.reshape(-1)
    for epochs in EPOCH_GRID:
        for lr in LR_GRID:
            schedule = {"kind": "dd", "steps": 10, "epochs": epochs, "per_step": per_step, "init": "random",
                        "weight_init": "xavier"}
            spec = EvalSpec("lenet", get_protocol("dd2018"), models, seed)
            res = evaluate_any(x, y, data.info, data.test, spec, lrs=torch.full((10 * epochs,), lr),
                               schedule=schedule)
            if res.mean > best[0]:
                best = (res.mean, res.std, f"lr {lr}, {epochs} epochs")
    return best


def baselines(args: argparse.Namespace, data) -> None:
    """Table 1's baselines at 100 images (10 per class) and k-NN."""
    rows = []
    sets = {"random real": random_real(data, 10, args.seed), "k-means": kmeans_centroids(data, 10, args.seed),
            "average": class_average(data, 10, args.seed)}
    # best of N random sets, each judged by a LeNet trained on it and tested on a held-out training subset
    sets[f"optimised real (best of {args.candidates})"] = coreset_set(
        "optimal_random", data, 10, args.seed, candidates=args.candidates, model="lenet", protocol="dc2021")
    for name, syn in sets.items():
        t0 = time.perf_counter()
        mean, std, how = _grid_best(syn.images, syn.labels, data, args.models, args.seed)
        rows.append(f"| {name} | {mean:.2f} +- {std:.2f} | {how} | {time.perf_counter() - t0:.0f} s |")
        append_jsonl({"bench": "dd_baseline", "method": name, "dataset": "mnist", "ipc": 10, "protocol": "dd2018-grid",
                      "acc_mean": round(mean, 2), "acc_std": round(std, 2), "n_models": args.models,
                      "iterations": 0, "wall_s": round(time.perf_counter() - t0, 1), "peak_rss_mb": peak_rss_mb(),
                      "budgeted": False, "command": command_line(), "best": how})
    for name in ("random real", "k-means"):
        for k in (1, 3):
            for p in (1, 2):
                acc = knn_accuracy(sets[name], data.test.images, data.test.labels, k=k, p=float(p))
                rows.append(f"| {k}-NN (l{p}) on {name} | {acc:.2f} | | |")
    m = machine()
    append_markdown(
        "DD Table-1 baselines, MNIST, 100 images (LeNet, 10 GD steps per epoch)",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}. "
        f"{args.models} fresh Xavier LeNets per grid point; best of lr {LR_GRID} x epochs {EPOCH_GRID}.\n\n"
        "| baseline | accuracy (%) | best grid point | wall |\n| --- | --- | --- | --- |\n" + "\n".join(rows))


def memory(args: argparse.Namespace, data) -> None:
    """Memory of 2 DD iterations (LeNet, 10 steps x 3 epochs = 30 unrolled steps), plain vs constant memory.

    The figure that matters is the run's own peak above the memory held after loading MNIST (run_mb): the
    unroll, not torch and the dataset.
    """
    res = {}
    for mode in ("plain", "constant"):
        res[mode] = child_distill_peak("mnist", args.data_root, f"'dd', 10, iterations=2, model='lenet', "
                                       f"init='{args.init}', memory='{mode}'")
        append_jsonl({"bench": "dd_memory", "method": "dd", "dataset": "mnist", "ipc": 10, "iterations": 2,
                      "memory": mode, "peak_rss_mb": round(res[mode]["process_peak_mb"], 1),
                      "run_mb": round(res[mode]["run_mb"], 1), "init": args.init,
                      "wall_s": round(res[mode]["seconds"], 1), "budgeted": False, "command": command_line()})
    m = machine()
    plain, const = res["plain"], res["constant"]
    ratio = const["run_mb"] / plain["run_mb"] if plain["run_mb"] > 0 else float("nan")
    append_markdown(
        f"DD memory: 30 unrolled steps (LeNet, MNIST, {args.init} init), plain vs constant memory",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}. Two "
        "iterations in a fresh process per mode; 'run' is the peak resident memory above what the process held "
        "after loading MNIST (kernel high-water mark reset, glibc untuned).\n\n"
        "| mode | run peak (above loaded data) | whole-process peak | time |\n| --- | --- | --- | --- |\n"
        f"| plain | {plain['run_mb']:.0f} MB | {plain['process_peak_mb']:.0f} MB | {plain['seconds']:.1f} s |\n"
        f"| constant | {const['run_mb']:.0f} MB | {const['process_peak_mb']:.0f} MB | {const['seconds']:.1f} s |\n\n"
        f"Constant / plain: **{ratio:.2f}** (target <= 0.33).")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["run", "baselines", "memory"])
    p.add_argument("--init", choices=["fixed", "random"], default="fixed")
    p.add_argument("--budget", default=None)
    p.add_argument("--iterations", type=int, default=None, help="default: the reference's 400 passes")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--curve-models", type=int, default=5)
    p.add_argument("--models", type=int, default=20)
    p.add_argument("--candidates", type=int, default=10, help="baselines: random sets for optimised real")
    p.add_argument("--memory", choices=["plain", "constant"], default="plain")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args()
    setup_runtime(None)
    data = api.resolve_data("mnist", args.data_root)
    {"run": run, "baselines": baselines, "memory": memory}[args.mode](args, data)


if __name__ == "__main__":
    main()
