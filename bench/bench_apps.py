"""Applications (issue 6): continual learning over the digit tasks, and NAS on proxy sets.

  python bench/bench_apps.py continual --runs 3 --epochs 3 --train-per-class 500
  python bench/bench_apps.py nas --distill dm=10m --depths 1 2 3 --widths 32 64 \
      --norms instancenorm none --poolings avgpooling maxpooling          # 72 candidates (3 depths x 2 widths x
      # 2 norms x 2 poolings x the 3 default activations)

Continual learning runs MNIST -> USPS -> UCI digits (28x28) with herding and condensed memories, with and
without KD, and writes the accuracy on every seen task after each stage. NAS ranks the candidates by
validation accuracy after training on each proxy (random real, herding, the distilled sets: 100 epochs;
early stopping: the full data for as many iterations) and compares with full-data training (Spearman over the
top 10). `--distill dm=10m` distills the proxy first, on the same training split the search trains on (so the
validation images that rank the candidates stay unseen), for 10 minutes; `--proxy NAME=RUN` adds a set made
elsewhere. Both resume from their results folders in bench/out/ (the layout of the CLI's, so
`datadistill report bench/out/continual_* bench/out/nas_mnist_72` shows them).

A longer ground truth for the paper's measure only (full-data training of the union of each proxy's top 10),
reusing the proxy trainings of the 2-epoch search above (same proxies, seeds and split):

  python bench/bench_apps.py nas --distill dm=10m --depths 1 2 3 --widths 32 64 --norms instancenorm none \
      --poolings avgpooling maxpooling --nas-runs 3 --full-epochs 10 --full-runs 2 --ground-truth proxy-tops \
      --proxies-from bench/out/nas_mnist_72

The same search with the distilled set also trained with DSA, the augmentation it was distilled with and is
evaluated with (dsa2021): a proxy 'distilled-dm+dsa' added to the log above (216 trainings, and the ground truth
of any candidate of its top 10 that the other proxies' tops do not hold):

  python bench/bench_apps.py nas --distill dm=10m --depths 1 2 3 --widths 32 64 --norms instancenorm none \
      --poolings avgpooling maxpooling --nas-runs 3 --full-epochs 10 --full-runs 2 --ground-truth proxy-tops \
      --augmented distilled-dm=dsa
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch  # noqa: E402
from common import ROOT, append_jsonl, append_markdown, command_line, machine, peak_rss_mb  # noqa: E402

from datadistill import api, random_real  # noqa: E402
from datadistill.applications.continual import ContinualConfig, load_tasks, run_continual  # noqa: E402
from datadistill.applications.nas import (  # noqa: E402
    SUMMARY_HEADER,
    NASConfig,
    load_log,
    proxy_tops,
    run_search,
    search_space,
    summarize,
    summary_rows,
)
from datadistill.cli.main import parse_budget  # noqa: E402
from datadistill.coresets import SelectionSource, coreset_set  # noqa: E402
from datadistill.report import write_app_results  # noqa: E402
from datadistill.runtime import setup_runtime  # noqa: E402


def continual(args: argparse.Namespace) -> None:
    rows = []
    for fill, kd in (("herding", False), ("herding", True), ("condensed", False), ("condensed", True)):
        cfg = ContinualConfig(fill=fill, kd=kd, memory_per_class=args.memory, epochs=args.epochs,
                              train_per_class=args.train_per_class, condense_method=args.condense_method,
                              condense_iterations=args.condense_iterations)
        tasks = load_tasks(cfg, args.data_root)
        folder = ROOT / "bench" / "out" / f"continual_{fill}_kd{int(kd)}"  # the CLI's results-folder layout
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / "runs.jsonl"
        done = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
        t0 = time.perf_counter()
        for r in range(len(done), args.runs):
            done.append({"run": r, "accs": run_continual(cfg, tasks, r,
                                                         memory_cache=ROOT / "bench" / "out" / "cache")})
            with log.open("a") as f:
                f.write(json.dumps(done[-1]) + "\n")
        (folder / "config.json").write_text(json.dumps({"config": cfg.__dict__, "runs": args.runs}, indent=2,
                                                       default=list))
        write_app_results(folder)  # its table and plot; `datadistill report` takes the folder too
        accs = [d["accs"] for d in done[:args.runs]]
        last = [statistics.mean(a[-1]) for a in accs]  # mean over all tasks after the last stage
        stages = " / ".join(f"{statistics.mean(statistics.mean(a[t]) for a in accs):.2f}" for t in range(len(accs[0])))
        rows.append(f"| {fill} | {'yes' if kd else 'no'} | {stages} | {statistics.mean(last):.2f} +- "
                    f"{statistics.pstdev(last):.2f} |")
        append_jsonl({"bench": "continual", "method": fill + ("+kd" if kd else ""), "dataset": "mnist>usps>digits",
                      "ipc": args.memory, "protocol": f"{args.epochs} epochs/stage", "acc_mean": round(statistics.mean(last), 2),
                      "acc_std": round(statistics.pstdev(last), 2), "n_models": len(accs), "iterations": 0,
                      "wall_s": round(time.perf_counter() - t0, 1), "peak_rss_mb": peak_rss_mb(), "budgeted": False,
                      "command": command_line(), "accs": accs})
    m = machine()
    append_markdown(
        "Continual learning MNIST -> USPS -> digits (28x28), memory of "
        f"{args.memory} images per class per task",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}. "
        f"{args.epochs} epochs per stage, {args.train_per_class or 'all'} training images per class per task, "
        f"condensed memory by {args.condense_method} ({args.condense_iterations} iterations), {args.runs} runs.\n\n"
        "| memory | KD | mean accuracy on seen tasks after each stage | after the last stage |\n"
        "| --- | --- | --- | --- |\n" + "\n".join(rows))


def nas(args: argparse.Namespace) -> None:
    data = api.resolve_data("mnist", args.data_root)
    rest, val = data.train.split_validation(0.1, torch.Generator().manual_seed(args.seed))
    data = type(data)(data.info, rest, data.test)
    space = search_space(args.depths, args.widths, args.acts, args.norms, args.poolings)
    tag = "".join(f"_{k}{v}" for k, v, default in (("full", args.full_epochs, 2), ("proxy", args.proxy_epochs, 100))
                  if v != default) + ("_tops" if args.ground_truth == "proxy-tops" else "")
    # the CLI's results-folder layout; one line per training, so --nas-runs 3 adds trainings to a 1-run search
    # settings other than the defaults get their own folder (a log is only extended with the same settings)
    folder = ROOT / "bench" / "out" / f"nas_mnist_{len(space)}{tag}"
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "search.jsonl"
    if args.proxies_from and not log.exists():  # start from the proxy trainings of another search (not its 'full')
        lines = (Path(args.proxies_from) / "search.jsonl").read_text().splitlines()
        log.write_text("".join(line + "\n" for line in lines if json.loads(line)["proxy"] != "full"))
    logged = [json.loads(line)["proxy"] for line in log.read_text().splitlines()] if log.exists() else []
    # random real is always built (it sizes early stopping); herding only while the log lacks some of its
    # trainings or the ground truth of its top (its feature network is a 20-epoch whole-data training)
    proxies = {"random": random_real(data, args.ipc, args.seed)}
    known = load_log(log, args.nas_runs)[0] if logged else {}
    herding_top = proxy_tops(known, [c.name for c in space], ["herding"], NASConfig.top)
    if (logged.count("herding") < len(space) * args.nas_runs
            or (args.ground_truth == "proxy-tops" and not herding_top <= set(known.get("full", {})))):
        proxies["herding"] = coreset_set("herding", SelectionSource(data, args.seed,
                                                                    cache_dir=ROOT / "bench" / "out" / "cache"),
                                         args.ipc, args.seed)
    proxies = {k: (v.images, v.labels) for k, v in proxies.items()}
    for item in args.proxy:
        name, _, path = item.partition("=")
        syn = api.load(path)
        proxies[name] = (syn.images, syn.labels)
    for item in args.distill:  # distilled here, from the same training split (the validation images unseen)
        method, _, budget = item.partition("=")
        syn = api.distill(data, method, args.ipc, out=ROOT / "bench" / "out" / f"nas_proxy_{method}_ipc{args.ipc}",
                          resume=True, budget_s=parse_budget(budget or "10m"), seed=args.seed, final_eval_models=0,
                          precision="bf16")
        proxies[f"distilled-{method}"] = (syn.images, syn.labels)
    augment = {}
    for item in args.augmented:  # the same set once more, trained with an augmentation, as 'NAME+AUG'
        name, _, aug = item.partition("=")
        if name not in proxies:
            sys.exit(f"--augmented {item}: no proxy '{name}' (proxies: {', '.join(proxies)})")
        proxies[f"{name}+{aug}"] = proxies[name]
        augment[f"{name}+{aug}"] = aug
    proxies["early-stopping"] = None
    cfg = NASConfig(proxy_epochs=args.proxy_epochs, full_epochs=args.full_epochs, runs=args.nas_runs,
                    full_runs=args.full_runs, seed=args.seed, ground_truth=args.ground_truth, augment=augment)
    run_search(data, val, proxies, space, cfg, log)
    summary = summarize(log, cfg.top, cfg.runs, cfg.full_runs)
    (folder / "config.json").write_text(json.dumps({"config": asdict(cfg), "dataset": "mnist",
                                                    "candidates": len(space),
                                                    "proxies": list(dict.fromkeys([*(k for k in logged if k != "full"),
                                                                                   *proxies]))}, indent=2))
    write_app_results(folder)
    rows = ["| " + " | ".join(r) + " |" for r in summary_rows(summary)]
    for k, s in summary.items():
        append_jsonl({"bench": "nas", "method": k, "dataset": "mnist", "ipc": args.ipc, "protocol": "nas-proxy",
                      "acc_mean": s["chosen_full_test"], "acc_std": None, "n_models": len(space), "iterations": 0,
                      "wall_s": round(s["seconds"], 1), "peak_rss_mb": peak_rss_mb(), "budgeted": False,
                      "command": command_line(), "spearman_proxy_top": s["spearman_proxy_top"],
                      "spearman_top": s["spearman_top"], "spearman_all": s["spearman_all"]})
    m = machine()
    scope = (f"only the union of each proxy's top {cfg.top}, so the other correlations are not given; "
             if args.ground_truth == "proxy-tops" else "")
    append_markdown(
        f"NAS on proxy sets, MNIST, {len(space)} ConvNets",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}. Proxies "
        f"trained {args.proxy_epochs} epochs (early stopping: as many SGD iterations on the full data), "
        f"{args.nas_runs} training(s) each; ground truth {args.full_epochs} epochs on the full training split "
        f"({scope}minus a 10 % validation split that ranks everything), {cfg.runs_of('full')} "
        f"training(s) each; Spearman over the {cfg.top} candidates the proxy "
        f"ranks best (the paper's measure), over the {cfg.top} best on the full data, and over all.\n\n"
        "| " + " | ".join(SUMMARY_HEADER) + " |\n|" + " --- |" * len(SUMMARY_HEADER) + "\n" + "\n".join(rows) +
        f"\n\nPer-candidate log, table and rank plot: `{folder.relative_to(ROOT)}/` (results.md).")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["continual", "nas"])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--memory", type=int, default=10)
    p.add_argument("--train-per-class", type=int, default=None)
    p.add_argument("--condense-method", default="dm")
    p.add_argument("--condense-iterations", type=int, default=200)
    p.add_argument("--proxy", action="append", default=[], metavar="NAME=RUN",
                   help="a distilled set made elsewhere (mind that it must not have seen the validation split)")
    p.add_argument("--distill", action="append", default=[], metavar="METHOD=BUDGET",
                   help="distill a proxy (dc, dsa or dm, bf16) on the training split first, e.g. dm=10m (resumes)")
    p.add_argument("--augmented", action="append", default=[], metavar="PROXY=AUG",
                   help="also train on proxy PROXY with augmentation AUG (dsa, dc), as proxy 'PROXY+AUG'")
    p.add_argument("--ipc", type=int, default=10)
    p.add_argument("--depths", type=int, nargs="+", default=[1, 2, 3, 4])
    p.add_argument("--widths", type=int, nargs="+", default=[32, 64, 128, 256])
    p.add_argument("--acts", nargs="+", default=["relu", "leakyrelu", "sigmoid"])
    p.add_argument("--norms", nargs="+", default=["none", "batchnorm", "layernorm", "instancenorm", "groupnorm"])
    p.add_argument("--poolings", nargs="+", default=["none", "maxpooling", "avgpooling"])
    p.add_argument("--proxy-epochs", type=int, default=100, help="the paper: 100")
    p.add_argument("--nas-runs", type=int, default=1, help="trainings per candidate and proxy (the paper: 5)")
    p.add_argument("--full-epochs", type=int, default=2)
    p.add_argument("--full-runs", type=int, default=None, help="trainings of the ground truth (default: --nas-runs)")
    p.add_argument("--ground-truth", choices=["all", "proxy-tops"], default="all",
                   help="full-data training of all candidates or of the union of each proxy's top 10 only")
    p.add_argument("--proxies-from", default=None, metavar="FOLDER",
                   help="start a new search's log from the proxy trainings of this one (same proxies and seeds)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args()
    setup_runtime(None)
    {"continual": continual, "nas": nas}[args.mode](args)


if __name__ == "__main__":
    main()
