"""Benchmark the distillation methods on MNIST / Fashion-MNIST: time per iteration, accuracy, memory.

  python bench/bench_distill.py timing --method dm --ipc 10 --iters 8          # s / iteration only
  python bench/bench_distill.py run --method dc --ipc 1                        # published iterations
  python bench/bench_distill.py run --method dm --ipc 10 --budget 2h --eval-every 500   # budgeted, curve
  python bench/bench_distill.py random --method dm --ipc 10                    # random real, same protocol
  python bench/bench_distill.py experts --num 5 --epochs 6                     # an MTT expert buffer
  python bench/bench_distill.py run --method mtt --ipc 1 --experts bench/out/experts_mnist --budget 1h
  python bench/bench_distill.py mtt-memory --steps 10 20 40 80                 # plain vs constant memory

`run` and `experts` are resumable: rerun the same command after an interruption and they continue (a budget
counts distillation time over all resumes). Results go to bench/results.jsonl and docs/results.md.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    ROOT,
    append_jsonl,
    append_markdown,
    child_distill_peak,
    command_line,
    machine,
    peak_rss_mb,
    reference_s,
)

from datadistill import api, random_real  # noqa: E402
from datadistill.augment.zca import ZCA  # noqa: E402
from datadistill.baselines import WHOLE  # noqa: E402
from datadistill.cli.main import parse_budget, parse_options  # noqa: E402
from datadistill.coresets import SelectionSource, coreset_set  # noqa: E402
from datadistill.evaluate import EvalResult, dc_protocol  # noqa: E402
from datadistill.experts import ExpertConfig, train_experts  # noqa: E402
from datadistill.published import ablation_factors, ablation_spec, published, published_ablation  # noqa: E402
from datadistill.runtime import setup_runtime  # noqa: E402

FAMILY = {"dc": "dc", "dsa": "dc", "dm": "dm", "mtt": "mtt"}  # bench names: dc_run, dm_timing, ...


def _settings(args: argparse.Namespace) -> dict:
    """Method options from the command line (precision, --experts, --opt k=v)."""
    kw = parse_options(args.opt)
    precision = _precision(args)
    if precision:
        kw.setdefault("precision", precision)
    if args.experts:
        kw["expert_dir"] = str(args.experts)
    return kw


def _precision(args: argparse.Namespace) -> str | None:
    """bf16 for DC/DSA/DM unless told otherwise; MTT keeps its own default (fp32 student steps)."""
    return args.precision or (None if args.method == "mtt" else "bf16")


def _run_dir(args: argparse.Namespace) -> Path:
    tag = f"_{args.tag}" if args.tag else ""
    return ROOT / "bench" / "out" / f"{args.method}_{args.dataset}_ipc{args.ipc}_s{args.seed}{tag}"


def timing(args: argparse.Namespace, data) -> None:
    """Median seconds per iteration over args.iters iterations after one warm-up."""
    times: list[float] = []
    t0 = time.perf_counter()
    api.distill(data, args.method, args.ipc, iterations=args.iters + 1, seed=args.seed, zca=args.zca,
                callback=lambda e: times.append(e["s_per_iter"]) if e["event"] == "step" else None,
                **_settings(args))
    wall = time.perf_counter() - t0
    med = statistics.median(times[1:])
    ref = reference_s(args.method, args.ipc, _settings(args).get("model"))
    rec = {"bench": f"{FAMILY[args.method]}_timing", "method": args.method, "dataset": args.dataset,
           "ipc": args.ipc, "protocol": None, "iterations": args.iters, "wall_s": round(wall, 1),
           "s_per_iter": round(med, 3), "peak_rss_mb": peak_rss_mb(), "budgeted": False,
           "command": command_line(), "precision": _precision(args) or "fp32", "reference_s_per_iter": ref,
           "speedup": round(ref / med, 2) if ref else None, "options": args.opt}
    append_jsonl(rec)
    m = machine()
    ref_row = f"| reference, measured on this machine class (REFERENCE.md) | {ref} | |\n" if ref else ""
    speed = f"Speed-up: **{ref / med:.2f}x**." if ref else "No reference figure for this setting."
    append_markdown(
        f"{args.method.upper()} {args.dataset} IPC {args.ipc}: time per iteration ({rec['precision']}"
        f"{''.join(', ' + o for o in args.opt)})",
        f"Command: `{rec['command']}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}; "
        f"wall {wall:.0f} s.\n\n| | s / iteration | peak RSS |\n| --- | --- | --- |\n"
        f"| datadistill (median of {args.iters} after a warm-up) | {med:.2f} | {rec['peak_rss_mb']:.0f} MB |\n"
        f"{ref_row}\n{speed}")


def full_run(args: argparse.Namespace, data) -> None:
    """The published iterations (or a budget), periodic evaluation, final evaluation on args.models models."""
    out = _run_dir(args)
    budget = parse_budget(args.budget)
    t0 = time.perf_counter()
    syn = api.distill(data, args.method, args.ipc, out=out, resume=True, seed=args.seed, budget_s=budget,
                      iterations=args.iterations, eval_every=args.eval_every, eval_models=args.curve_models,
                      final_eval_models=args.models, zca=args.zca, checkpoint_every=args.checkpoint_every,
                      **_settings(args))
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    steps = [r for r in records if "s_per_iter" in r]
    evals = [r for r in records if "eval" in r]
    compute = sum(r["s_per_iter"] for r in steps) + sum(r.get("eval_s", 0.0) for r in evals)
    res = EvalResult.from_dict(syn.evaluations[-1])
    done = syn.config["completed_iterations"]
    chosen = syn.config.get("selected_iteration", done)
    # the curve: the periodic evaluations (validation ones under select=val), one point per iteration, without
    # the final test evaluation of the chosen snapshot (reported on its own line)
    periodic = {r["iteration"] + 1: r for r in evals
                if "split" in r or r["iteration"] != chosen - 1 or r["eval"]["n"] != len(res.accs)}
    split = "validation" if any(r.get("split") == "val" for r in periodic.values()) else "test"
    rec = {"bench": f"{FAMILY[args.method]}_run", "method": args.method, "dataset": args.dataset,
           "ipc": args.ipc, "protocol": res.protocol, "acc_mean": round(res.mean, 2),
           "acc_std": round(res.std, 2), "n_models": len(res.accs), "iterations": done,
           "wall_s": round(compute, 1), "distill_s": syn.config.get("distill_s"),
           "s_per_iter": round(statistics.median(r["s_per_iter"] for r in steps), 3),
           "peak_rss_mb": peak_rss_mb(), "budgeted": bool(syn.config.get("budget_hit")), "command": command_line(),
           "precision": _precision(args) or "fp32", "session_wall_s": round(time.perf_counter() - t0, 1),
           "settings": syn.config.get("method_config"),
           "curve": [[it, round(r["eval"]["mean"], 2)] for it, r in sorted(periodic.items())],
           "curve_split": split, "selected_iteration": chosen, "selected": syn.config.get("selected", "last")}
    if syn.lrs.numel():
        rec["learned_lr"] = float(syn.lrs[0])
    append_jsonl(rec)
    _write_run_markdown(args, rec, res, budget if syn.config.get("budget_hit") else None, syn.made_with)


def _published_cell(args: argparse.Namespace, made_with: str) -> tuple[str, str]:
    """The paper's figure a run compares with, and its label: the method's table for the paper's ConvNet; for a DC
    MNIST IPC 1 set condensed with a ConvNet variant, the ablation tables' cell of a set condensed with and trained
    on that variant; '-' where the papers give none."""
    made = ablation_spec(made_with)
    if made == "convnet":
        return published(args.method, args.dataset, args.ipc) or "-", "published (paper)"
    label = f"published (condensed with and trained on {made_with})"
    if made and (args.method, args.dataset, args.ipc) == ("dc", "mnist", 1):
        cells = [published_ablation(f, made)[made] for f in ablation_factors(made)]
        return (cells[0] if cells else "-"), label + ", DC supplementary's ablations"
    return "-", label


def _write_run_markdown(args: argparse.Namespace, rec: dict, res: EvalResult, budget: float | None,
                        made_with: str) -> None:
    m = machine()
    kind = f"budgeted run ({args.budget} of distillation time)" if budget else "full run"
    curve = ", ".join(f"{it}: {acc}" for it, acc in rec["curve"]) or "(no periodic evaluation)"
    how = "best on the validation split" if rec["selected"] == "val" else "the last"
    ref = reference_s(args.method, args.ipc, made_with)
    ref_row = f"| reference on this machine class | | | {ref} | | |\n" if ref else ""
    published_acc, published_label = _published_cell(args, made_with)
    lr = f"  \nLearned lr: {rec['learned_lr']:.5f}." if "learned_lr" in rec else ""
    append_markdown(
        f"{args.method.upper()} {args.dataset} IPC {args.ipc} ({rec['precision']}): {kind}",
        f"Command: `{rec['command']}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}.\n\n"
        f"| | accuracy (%) | iterations | s / iteration | total compute | peak RSS |\n"
        f"| --- | --- | --- | --- | --- | --- |\n"
        f"| datadistill ({res.protocol}, {len(res.accs)} models) | {res.mean:.2f} +- {res.std:.2f} | "
        f"{rec['iterations']} | {rec['s_per_iter']:.2f} | {rec['wall_s'] / 60:.1f} min | "
        f"{rec['peak_rss_mb']:.0f} MB |\n"
        f"| {published_label} | {published_acc} | | | | |\n"
        f"{ref_row}\n"
        f"Every model: {', '.join(f'{a:.2f}' for a in res.accs)}.  \n"
        f"{rec['curve_split'].capitalize()} accuracy vs iteration ({args.curve_models} models each): {curve}.  \n"
        f"Test accuracy above: the snapshot of iteration {rec['selected_iteration']} ({how}).{lr}")


def random_baseline(args: argparse.Namespace, data) -> None:
    """Random real images at the same IPC under the method's protocol (a fixed lr where MTT learns one), or
    with --selection the coreset a method starts from under init=<selection> (e.g. herding)."""
    protocol = {"dsa": "dsa2021", "dm": "dm2023", "mtt": "dsa2021"}.get(args.method) or \
        dc_protocol(args.dataset)
    t0 = time.perf_counter()
    if args.selection == "random":
        base = random_real(data, args.ipc, args.seed)
    else:
        source = SelectionSource(data, args.seed, cache_dir=ROOT / "bench" / "out" / "cache",
                                 recipe=replace(WHOLE, epochs=args.feature_epochs))
        base = coreset_set(args.selection, source, args.ipc, args.seed)
    if args.zca is not None:  # the set lives in whitened space; api.evaluate then whitens the test split
        zca = ZCA.fit(data.train.images, args.zca)
        base.images, base.zca = zca.transform(base.images), zca.to_tensors()
    res = api.evaluate(base, data, runs=args.models, protocol=protocol, seed=args.seed)
    wall = time.perf_counter() - t0
    rec = {"bench": "random_baseline", "method": args.selection, "dataset": args.dataset, "ipc": args.ipc,
           "protocol": protocol, "acc_mean": round(res.mean, 2), "acc_std": round(res.std, 2),
           "n_models": len(res.accs), "iterations": 0, "wall_s": round(wall, 1), "peak_rss_mb": peak_rss_mb(),
           "budgeted": False, "command": command_line()}
    append_jsonl(rec)
    m = machine()
    what = "Random real images" if args.selection == "random" else \
        f"{args.selection} images ({args.feature_epochs}-epoch feature ConvNet)"
    append_markdown(f"{what}, {args.dataset} IPC {args.ipc} ({protocol})",
                    f"Command: `{rec['command']}`  \nMachine: {m['cores']} cores, torch {m['torch']}, "
                    f"{m['date']}; wall {wall:.0f} s.\n\n{res.mean:.2f} +- {res.std:.2f} % over {len(res.accs)} "
                    f"models ({', '.join(f'{a:.2f}' for a in res.accs)}); published {args.selection} real: "
                    f"{published(args.selection, args.dataset, args.ipc) or '-'}.")


def experts(args: argparse.Namespace, data) -> None:
    """Train (or continue) an expert buffer; report time and disk per expert."""
    out = args.experts or ROOT / "bench" / "out" / f"experts_{args.dataset}"
    cfg = ExpertConfig(epochs=args.epochs, zca=args.zca, precision=args.precision or "bf16", seed=args.seed)
    t0 = time.perf_counter()
    buf = train_experts(data, cfg, out, args.num)
    wall = time.perf_counter() - t0
    ex = buf.manifest["experts"]
    train_s = sum(e["train_s"] for e in ex)
    accs = [e["test_acc"] for e in ex]
    rec = {"bench": "mtt_experts", "method": "experts", "dataset": args.dataset, "ipc": None, "protocol": None,
           "acc_mean": round(statistics.mean(accs), 2), "acc_std": round(statistics.pstdev(accs), 2),
           "n_models": len(ex), "iterations": args.epochs, "wall_s": round(train_s, 1),
           "s_per_iter": round(train_s / (len(ex) * args.epochs), 2), "peak_rss_mb": peak_rss_mb(),
           "budgeted": False, "command": command_line(), "mb_per_expert": round(buf.bytes_per_expert() / 2**20, 2),
           "session_wall_s": round(wall, 1)}
    append_jsonl(rec)
    m = machine()
    append_markdown(
        f"MTT expert buffer, {args.dataset}: {len(ex)} experts x {args.epochs} epochs",
        f"Command: `{rec['command']}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}.\n\n"
        f"Training time {train_s / 60:.1f} min in all ({rec['s_per_iter']:.0f} s per epoch over 60,000 images, "
        f"{cfg.precision}); {rec['mb_per_expert']:.1f} MB per expert on disk ({args.epochs + 1} float32 "
        f"snapshots); expert test accuracy after {args.epochs} epochs {min(accs):.2f}-{max(accs):.2f} %.")


def mtt_memory(args: argparse.Namespace, data) -> None:
    """Peak RSS of one MTT iteration, plain vs constant memory, as syn_steps grows (one child per point). The
    plain unroll grows linearly (~145 MB per student step at IPC 10 here), so it is measured only up to
    --plain-up-to steps; beyond that it would not fit this machine and its cell says so."""
    rows = []
    for steps in args.steps:
        row: dict = {"syn_steps": steps}
        for mode in ("plain", "constant"):
            if mode == "plain" and steps > args.plain_up_to:
                row[mode] = None
                continue
            row[mode] = child_distill_peak(args.dataset, args.data_root, (
                f"'mtt', {args.ipc}, iterations=1, expert_dir={str(args.experts)!r}, syn_steps={steps}, "
                f"memory='{mode}', max_start_epoch=0, expert_epochs=1"))
        rows.append(row)
        plain, const = row["plain"] or {}, row["constant"]
        append_jsonl({"bench": "mtt_memory", "method": "mtt", "dataset": args.dataset, "ipc": args.ipc,
                      "iterations": 1, "syn_steps": steps, "peak_rss_mb": round(const["process_peak_mb"], 1),
                      "run_mb": round(plain["run_mb"], 1) if plain else None,
                      "run_mb_constant": round(const["run_mb"], 1),
                      "wall_s": round(plain["seconds"], 1) if plain else None,
                      "wall_s_constant": round(const["seconds"], 1),
                      "budgeted": False, "command": command_line()})
    m = machine()
    skipped = f"not run (> {args.plain_up_to} steps)"

    def cells(r: dict) -> str:
        p, c = r["plain"], r["constant"]
        plain_mb, plain_s = (f"{p['run_mb']:.0f} MB", f"{p['seconds']:.1f} s") if p else (skipped, "-")
        return f"| {r['syn_steps']} | {plain_mb} | {c['run_mb']:.0f} MB | {plain_s} | {c['seconds']:.1f} s |\n"

    table = "".join(cells(r) for r in rows)
    append_markdown(
        f"MTT memory, {args.dataset} IPC {args.ipc}: plain vs constant-memory student unroll",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}. "
        "One iteration in a fresh process per point; memory is the peak resident memory above what the process "
        "held after loading the data (kernel high-water mark reset, glibc untuned).\n\n"
        "| syn_steps | plain run peak | constant run peak | plain time | constant time |\n"
        f"| --- | --- | --- | --- | --- |\n{table}")


def main(default_method: str = "dc") -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["timing", "run", "random", "experts", "mtt-memory"])
    p.add_argument("--method", choices=sorted(FAMILY), default=default_method)
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    p.add_argument("--ipc", type=int, default=1)
    p.add_argument("--iters", type=int, default=8, help="timing: iterations measured")
    p.add_argument("--iterations", type=int, default=None, help="run: iterations (default: published)")
    p.add_argument("--budget", default=None, help="run: distillation-time budget, e.g. 2h")
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--curve-models", type=int, default=2)
    p.add_argument("--checkpoint-every", type=int, default=10, help="run: iterations between checkpoints")
    p.add_argument("--models", type=int, default=5)
    p.add_argument("--plain-up-to", type=int, default=40,
                   help="mtt-memory: largest syn_steps for the plain unroll (80 at IPC 10 exceeds 24 GB here)")
    p.add_argument("--precision", default=None, choices=["bf16", "fp32"],
                   help="default: bf16 for dc/dsa/dm and experts, the method's own (fp32) for mtt")
    p.add_argument("--zca", type=float, default=None, help="ZCA eps (MTT CIFAR setting: 0.1)")
    p.add_argument("--experts", type=Path, default=None, help="expert buffer folder (mtt, experts)")
    p.add_argument("--num", type=int, default=5, help="experts: number of experts")
    p.add_argument("--epochs", type=int, default=6, help="experts: epochs per expert")
    p.add_argument("--steps", type=int, nargs="+", default=[10, 20, 40, 80], help="mtt-memory: syn_steps")
    p.add_argument("--opt", action="append", default=[], help="method option key=value (repeatable)")
    p.add_argument("--selection", default="random",
                   help="random: the coreset evaluated by `random` (e.g. herding, as init=herding starts from)")
    p.add_argument("--feature-epochs", type=int, default=20, help="random --selection: feature ConvNet epochs")
    p.add_argument("--tag", default="", help="suffix of the run folder (to keep variants apart)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args()
    setup_runtime(None)
    data = api.resolve_data(args.dataset, args.data_root)
    {"timing": timing, "run": full_run, "random": random_baseline, "experts": experts,
     "mtt-memory": mtt_memory}[args.mode](args, data)


if __name__ == "__main__":
    main()
