"""Benchmark DC / DSA on MNIST: seconds per outer iteration, accuracy, peak memory (issue 2).

  python bench/bench_dc.py timing --method dc --ipc 1 --iters 8        # s / outer iteration only
  python bench/bench_dc.py run --method dc --ipc 1                      # published 1000 iterations
  python bench/bench_dc.py run --method dsa --ipc 10 --budget 2h        # budgeted run, accuracy curve

`run` is resumable: rerun the same command after an interruption and it continues from the checkpoint.
Results go to bench/results.jsonl and docs/results.md.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, append_jsonl, append_markdown, command_line, machine, peak_rss_mb  # noqa: E402

from datadistill import api, random_real  # noqa: E402
from datadistill.cli.main import parse_budget  # noqa: E402
from datadistill.evaluate import EvalResult  # noqa: E402
from datadistill.runtime import setup_runtime  # noqa: E402

# Reference implementation on this machine class (shared/REFERENCE.md, 'Measured here'): s / outer iteration.
REFERENCE_S = {("dc", 1): 6.1, ("dsa", 1): 6.7, ("dc", 10): 174.0, ("dsa", 10): 205.0}
PUBLISHED = {("dc", 1): "91.7 +- 0.5", ("dsa", 1): "88.7 +- 0.6", ("dc", 10): "97.4 +- 0.2",
             ("dsa", 10): "97.8 +- 0.1"}
PUBLISHED_RANDOM = {1: "64.9 +- 3.5", 10: "95.1 +- 0.9", 50: "97.9 +- 0.2"}


def timing(args: argparse.Namespace, data) -> None:
    """Median seconds per outer iteration over args.iters iterations after one warm-up."""
    times: list[float] = []
    t0 = time.perf_counter()
    api.distill(data, args.method, args.ipc, iterations=args.iters + 1, seed=args.seed, precision=args.precision,
                callback=lambda e: times.append(e["s_per_iter"]) if e["event"] == "step" else None)
    wall = time.perf_counter() - t0
    med = statistics.median(times[1:])
    ref = REFERENCE_S[(args.method, args.ipc)]
    rec = {"bench": "dc_timing", "method": args.method, "dataset": "mnist", "ipc": args.ipc, "protocol": None,
           "iterations": args.iters, "wall_s": round(wall, 1), "s_per_iter": round(med, 3),
           "peak_rss_mb": peak_rss_mb(), "budgeted": False, "command": command_line(),
           "precision": args.precision, "reference_s_per_iter": ref, "speedup": round(ref / med, 2)}
    append_jsonl(rec)
    m = machine()
    append_markdown(
        f"{args.method.upper()} MNIST IPC {args.ipc}: time per outer iteration ({args.precision})",
        f"Command: `{rec['command']}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}; "
        f"wall {wall:.0f} s.\n\n| | s / outer iteration | peak RSS |\n| --- | --- | --- |\n"
        f"| datadistill (median of {args.iters} after a warm-up) | {med:.2f} | {rec['peak_rss_mb']:.0f} MB |\n"
        f"| reference, measured on this machine class (REFERENCE.md) | {ref} | |\n\n"
        f"Speed-up: **{ref / med:.2f}x**.")


def full_run(args: argparse.Namespace, data) -> None:
    """The published number of iterations (or a wall-clock budget), periodic eval, final eval on 5 models."""
    out = ROOT / "bench" / "out" / f"{args.method}_mnist_ipc{args.ipc}_s{args.seed}"
    budget = parse_budget(args.budget)
    t0 = time.perf_counter()
    syn = api.distill(data, args.method, args.ipc, out=out, resume=True, seed=args.seed, budget_s=budget,
                      iterations=args.iterations, eval_every=args.eval_every, eval_models=args.curve_models,
                      final_eval_models=args.models, precision=args.precision)
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    steps = [r for r in records if "s_per_iter" in r]
    evals = [r for r in records if "eval" in r]
    compute = sum(r["s_per_iter"] for r in steps) + sum(r.get("eval_s", 0.0) for r in evals)
    res = EvalResult.from_dict(syn.evaluations[-1])
    done = syn.config["completed_iterations"]
    rec = {"bench": "dc_run", "method": args.method, "dataset": "mnist", "ipc": args.ipc,
           "protocol": res.protocol, "acc_mean": round(res.mean, 2), "acc_std": round(res.std, 2),
           "n_models": len(res.accs), "iterations": done, "wall_s": round(compute, 1),
           "s_per_iter": round(statistics.median(r["s_per_iter"] for r in steps), 3),
           "peak_rss_mb": peak_rss_mb(), "budgeted": budget is not None, "command": command_line(),
           "precision": args.precision, "session_wall_s": round(time.perf_counter() - t0, 1),
           "curve": [[r["iteration"] + 1, round(r["eval"]["mean"], 2)] for r in evals]}
    append_jsonl(rec)
    _write_run_markdown(args, rec, res, budget)


def _write_run_markdown(args: argparse.Namespace, rec: dict, res: EvalResult, budget: float | None) -> None:
    m = machine()
    kind = f"budgeted run ({args.budget} wall-clock budget)" if budget else "full run"
    curve = ", ".join(f"{it}: {acc}" for it, acc in rec["curve"]) or "(no periodic evaluation)"
    append_markdown(
        f"{args.method.upper()} MNIST IPC {args.ipc}: {kind}",
        f"Command: `{rec['command']}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}.\n\n"
        f"| | accuracy (%) | iterations | s / iteration | total compute | peak RSS |\n"
        f"| --- | --- | --- | --- | --- | --- |\n"
        f"| datadistill ({res.protocol}, {len(res.accs)} models) | {res.mean:.2f} +- {res.std:.2f} | "
        f"{rec['iterations']} | {rec['s_per_iter']:.2f} | {rec['wall_s'] / 60:.1f} min | "
        f"{rec['peak_rss_mb']:.0f} MB |\n"
        f"| published (paper) | {PUBLISHED[(args.method, args.ipc)]} | 1000 | | | |\n"
        f"| reference on this machine class | | | {REFERENCE_S[(args.method, args.ipc)]} | | |\n\n"
        f"Every model: {', '.join(f'{a:.2f}' for a in res.accs)}.  \n"
        f"Accuracy vs iteration ({args.curve_models} models each): {curve}.")


def random_baseline(args: argparse.Namespace, data) -> None:
    """Random real images at the same IPC under the method's protocol (context for the accuracy rows)."""
    protocol = "dsa2021" if args.method == "dsa" else "dc2021-aug"
    t0 = time.perf_counter()
    res = api.evaluate(random_real(data, args.ipc, args.seed), data, runs=args.models, protocol=protocol,
                       seed=args.seed)
    wall = time.perf_counter() - t0
    rec = {"bench": "random_baseline", "method": "random", "dataset": "mnist", "ipc": args.ipc,
           "protocol": protocol, "acc_mean": round(res.mean, 2), "acc_std": round(res.std, 2),
           "n_models": len(res.accs), "iterations": 0, "wall_s": round(wall, 1), "peak_rss_mb": peak_rss_mb(),
           "budgeted": False, "command": command_line()}
    append_jsonl(rec)
    m = machine()
    append_markdown(f"Random real images, MNIST IPC {args.ipc} ({protocol})",
                    f"Command: `{rec['command']}`  \nMachine: {m['cores']} cores, torch {m['torch']}, "
                    f"{m['date']}; wall {wall:.0f} s.\n\n{res.mean:.2f} +- {res.std:.2f} % over {len(res.accs)} "
                    f"models ({', '.join(f'{a:.2f}' for a in res.accs)}); published random real at IPC "
                    f"{args.ipc}: {PUBLISHED_RANDOM.get(args.ipc, '-')}.")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["timing", "run", "random"])
    p.add_argument("--method", choices=["dc", "dsa"], default="dc")
    p.add_argument("--ipc", type=int, default=1)
    p.add_argument("--iters", type=int, default=8, help="timing: iterations measured")
    p.add_argument("--iterations", type=int, default=1000, help="run: outer iterations")
    p.add_argument("--budget", default=None, help="run: wall-clock budget, e.g. 2h")
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--curve-models", type=int, default=2)
    p.add_argument("--models", type=int, default=5)
    p.add_argument("--precision", default="bf16", choices=["bf16", "fp32"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args()
    setup_runtime(None)
    data = api.resolve_data("mnist", args.data_root)
    {"timing": timing, "run": full_run, "random": random_baseline}[args.mode](args, data)


if __name__ == "__main__":
    main()
