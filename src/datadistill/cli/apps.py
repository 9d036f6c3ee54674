"""CLI commands for the applications: continual learning and architecture search (thin; results to a folder)."""
from __future__ import annotations

import json
import statistics
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import torch
import typer
from rich.table import Table

from .. import api
from ..applications.continual import ContinualConfig, load_tasks, run_continual
from ..applications.nas import SUMMARY_HEADER, NASConfig, run_search, search_space, summarize, summary_rows
from ..errors import ConfigError
from ..report import write_app_results
from ..runtime import setup_runtime
from .main import app, err, friendly, out


@app.command()
@friendly
def continual(
    tasks: str = typer.Option("mnist,usps,digits", help="task datasets in order (one label space)"),
    out_dir: Path = typer.Option(Path("runs/continual"), "--out", help="results folder (rerun to resume)"),
    fill: str = typer.Option("herding", help="memory: none | herding | condensed"),
    memory: int = typer.Option(10, help="memory images per class per task"),
    kd: bool = typer.Option(False, "--kd/--no-kd", help="knowledge distillation on old outputs (E2E)"),
    condense_method: str = typer.Option("dsa", help="method that condenses a task (fill=condensed)"),
    condense_iterations: int = typer.Option(200),
    epochs: int = typer.Option(5, help="training epochs per stage"),
    train_per_class: Optional[int] = typer.Option(None, help="subsample each task's training split"),
    size: int = typer.Option(28, help="common image size"),
    runs: int = typer.Option(3, help="independent runs (mean +- std)"),
    data_root: Optional[Path] = typer.Option(None),
    seed: int = typer.Option(0),
    threads: Optional[int] = typer.Option(None),
) -> None:
    """Task-incremental learning over digit datasets with a herding or condensed memory.

    Condensed memories are kept in .continual_memories/ beside the results folder, so a run with --kd after one
    without (or any rerun with the same tasks, settings and seed) condenses nothing again."""
    setup_runtime(threads)
    cfg = ContinualConfig(tasks=tuple(t.strip() for t in tasks.split(",")), size=size, memory_per_class=memory,
                          fill=fill, condense_method=condense_method, condense_iterations=condense_iterations,
                          kd=kd, epochs=epochs, train_per_class=train_per_class, seed=seed)
    data = load_tasks(cfg, data_root)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = out_dir / "runs.jsonl"
    done = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
    for r in range(len(done), runs):
        accs = run_continual(cfg, data, r, callback=lambda e: err.print(
            f"  run {e['run']} after {e['task']}: " + ", ".join(f"{a:.2f}" for a in e["accs"])),
            memory_cache=out_dir.parent / ".continual_memories")
        done.append({"run": r, "accs": accs})
        with log.open("a") as f:
            f.write(json.dumps(done[-1]) + "\n")
    all_accs = [d["accs"] for d in done[:runs]]
    table = Table("after", *[f"test {t}" for t in cfg.tasks], title=f"memory {fill}, kd {kd}, {runs} runs")
    for t, name in enumerate(cfg.tasks):
        cells = []
        for j in range(len(cfg.tasks)):
            vals = [a[t][j] for a in all_accs] if j <= t else []
            cells.append(f"{statistics.mean(vals):.2f} +- {statistics.pstdev(vals):.2f}" if vals else "")
        table.add_row(name, *cells)
    out.print(table)
    (out_dir / "config.json").write_text(json.dumps({"config": cfg.__dict__, "runs": runs}, indent=2, default=list))
    err.print(f"table and plot: {write_app_results(out_dir)}")


@app.command()
@friendly
def nas(
    dataset: str = typer.Option("mnist"),
    proxy: list[str] = typer.Option([], "--proxy", help="NAME=ARTIFACT (a set to train candidates on), repeatable"),
    early_stopping: bool = typer.Option(True, help="also rank by training on the full data for as many iterations "
                                        "as a proxy takes"),
    out_dir: Path = typer.Option(Path("runs/nas"), "--out", help="results folder (rerun to resume)"),
    depths: str = typer.Option("1,2,3,4"),
    widths: str = typer.Option("32,64,128,256"),
    acts: str = typer.Option("relu,leakyrelu,sigmoid"),
    norms: str = typer.Option("none,batchnorm,layernorm,instancenorm,groupnorm"),
    poolings: str = typer.Option("none,maxpooling,avgpooling"),
    proxy_epochs: int = typer.Option(100, help="epochs on each proxy set (the paper: 100)"),
    proxy_augment: str = typer.Option("none", help="augmentation of the trainings on the --proxy sets: none, dsa "
                                      "(how a set distilled with DSA is evaluated) or dc; never on the full data"),
    full_epochs: int = typer.Option(2, help="epochs of full-data training (the ranking to match)"),
    ground_truth: str = typer.Option("all", help="train 'all' candidates on the full data, or only the "
                                     "'proxy-tops' (the union of each proxy's top; enough for the paper's measure)"),
    top: int = typer.Option(10, help="Spearman over this many best candidates, by the proxy and by full data (the paper: 10)"),
    runs: int = typer.Option(1, help="trainings per candidate and proxy, averaged (the paper: 5); rerun with "
                             "more to add trainings to a finished search"),
    full_runs: Optional[int] = typer.Option(None, help="trainings of the full-data ground truth, when fewer than "
                                            "--runs (the costly part)"),
    data_root: Optional[Path] = typer.Option(None),
    seed: int = typer.Option(0),
    threads: Optional[int] = typer.Option(None),
) -> None:
    """Rank ConvNets trained on proxy sets against full-data training (Spearman over the top candidates)."""
    setup_runtime(threads)
    split = lambda s: [x.strip() for x in s.split(",") if x.strip()]  # noqa: E731
    space = search_space([int(d) for d in split(depths)], [int(w) for w in split(widths)], split(acts),
                         split(norms), split(poolings))
    proxies = {}  # read first: a mistyped --proxy fails before any data is loaded
    for item in proxy:
        name, eq, path = item.partition("=")
        if not (eq and name.strip() and path.strip()):
            raise ConfigError(f"--proxy '{item}' is not NAME=ARTIFACT (e.g. --proxy dc=runs/x)")
        syn = api.load(path)
        proxies[name] = (syn.images, syn.labels)
    data = api.resolve_data(dataset, data_root)
    rest, val = data.train.split_validation(0.1, torch.Generator().manual_seed(seed))
    data = type(data)(data.info, rest, data.test)
    if early_stopping:
        proxies["early-stopping"] = None
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = NASConfig(proxy_epochs=proxy_epochs, full_epochs=full_epochs, top=top, runs=runs, full_runs=full_runs,
                    seed=seed, ground_truth=ground_truth,
                    augment={name: proxy_augment for name, xy in proxies.items() if xy is not None})
    run_search(data, val, proxies, space, cfg, out_dir / "search.jsonl",
               callback=lambda r: err.print(f"  {r['proxy']:<16} {r['candidate']:<40} {r['val_acc']:.2f} %"))
    summary = summarize(out_dir / "search.jsonl", cfg.top, cfg.runs, cfg.full_runs)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    (out_dir / "config.json").write_text(json.dumps({"config": asdict(cfg), "dataset": dataset,
                                                     "candidates": len(space), "proxies": list(proxies)}, indent=2))
    table = Table(*SUMMARY_HEADER)
    for row in summary_rows(summary):
        table.add_row(*row)
    out.print(table)
    err.print(f"table and plot: {write_app_results(out_dir)}")
