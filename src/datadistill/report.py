"""A results report over run folders and artifacts: markdown plus a self-contained HTML page.

The page shows, per set, its image grid (de-normalised, inverse-ZCA), its accuracy-versus-iteration curve and
provenance (command, seed, version, distillation time); and across sets the papers' tables: methods x IPC
with ours beside the published numbers, the cross-architecture matrix, the ConvNet ablation tables (sets
condensed with and trained on ConvNet variants), and (given a cache folder of
whole_dataset's) the whole-dataset upper bound. Numbers come from evaluations already stored in the artifacts,
metrics and caches (nothing is retrained here).
"""
from __future__ import annotations

import base64
import html
import io
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .baselines import WHOLE_CACHE, cached_whole
from .coresets import selection_label
from .errors import ArtifactError
from .evaluate.train import EvalResult
from .methods import method_label
from .published import WHOLE as PUBLISHED_WHOLE
from .published import (
    ablation_factors,
    ablation_spec,
    published,
    published_ablation,
    published_crossarch,
    within_std,
)
from .synthetic import SyntheticSet, resolve_artifact

log = logging.getLogger(__name__)

Block = tuple  # ('h1'|'h2'|'p'|'pre', text) | ('table', header, rows) | ('img', name, png, caption)


@dataclass
class RunEntry:
    """One set in the report: the artifact, its run folder's metrics and environment when there is one."""

    label: str
    syn: SyntheticSet
    curve: list[dict[str, Any]] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, path: str | Path) -> RunEntry:
        path = Path(path)
        syn = SyntheticSet.load(resolve_artifact(path))
        folder = path if path.is_dir() else path.parent
        curve, env = [], {}
        if (folder / "metrics.jsonl").exists():
            records = [json.loads(x) for x in (folder / "metrics.jsonl").read_text().splitlines() if x.strip()]
            curve = [r for r in records if "eval" in r]
        if (folder / "config.json").exists():
            env = json.loads((folder / "config.json").read_text()).get("environment", {})
        env = env or syn.config.get("environment", {})  # a baseline keeps it in the set
        return cls(path.name if path.is_dir() else path.stem, syn, curve, env)

    @property
    def method(self) -> str:
        """The set's method as the tables name it, with what sets the run apart (DD: init, steps x epochs; a coreset:
        its options and a non-default feature network; a set distilled with a ConvNet ablation variant: that
        network)."""
        if self.coreset:
            return selection_label(self.syn.method, self.syn.config)
        label = method_label(self.syn.method, self.syn.config.get("method_config"), self.syn.schedule)
        variant = ablation_spec(self.syn.made_with)
        if variant in (None, "convnet"):
            return label
        return f"{label[:-1]}; made with {variant})" if label.endswith(")") else f"{label} (made with {variant})"

    @property
    def paper_row(self) -> str:
        """The row of the papers' tables the set is compared with: a coreset variant with the plain selection."""
        return self.syn.method if self.coreset else self.method

    @property
    def coreset(self) -> bool:
        """Selected real images (coresets.coreset_set's set), not a distilled set started from them."""
        return self.syn.config.get("baseline") == self.syn.method

    def headline(self) -> EvalResult | None:
        """The set's main result: its last ConvNet evaluation (else its last evaluation)."""
        evs = [EvalResult.from_dict(e) for e in self.syn.evaluations]
        conv = [e for e in evs if e.model == "convnet"]
        return (conv or evs or [None])[-1]


def _acc(res: EvalResult) -> str:
    """Mean +- std, or the mean alone for one network."""
    return f"{res.mean:.2f}" + (f" +- {res.std:.2f}" if len(res.accs) > 1 else "")


def _fmt(res: EvalResult | None) -> str:
    return f"{_acc(res)} (n={len(res.accs)})" if res else "-"


def _pyplot() -> Any:
    """matplotlib.pyplot on the file-only Agg backend (imported only when a report draws)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig_or_array: Any) -> bytes:
    plt = _pyplot()
    buf = io.BytesIO()
    if hasattr(fig_or_array, "savefig"):
        fig_or_array.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig_or_array)
    else:
        plt.imsave(buf, fig_or_array, format="png")
    return buf.getvalue()


def _grid_png(syn: SyntheticSet) -> bytes:
    from .viz import grid_array

    side = max(syn.info.im_size)
    return _png(grid_array(syn.images01(), syn.labels, scale=max(1, 64 // side)))


def _curve_png(entry: RunEntry) -> bytes | None:
    if not entry.curve:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3))
    for split in ("test", "val"):
        pts = [r for r in entry.curve if r.get("split", "test") == split]
        if pts:
            its = [r["iteration"] + 1 for r in pts]
            ax.errorbar(its, [r["eval"]["mean"] for r in pts], yerr=[r["eval"]["std"] for r in pts],
                        marker="o", capsize=3, label=f"{split} accuracy")
    pub = published(entry.paper_row, entry.syn.info.name, entry.syn.ipc)
    if pub:
        ax.axhline(float(pub.split()[0]), color="0.4", linestyle="--", label=f"published {pub}")
    ax.set_xlabel("iteration")
    ax.set_ylabel("accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(fig)


def _summary(entries: list[RunEntry]) -> Block:
    rows = []
    for e in entries:
        s, res = e.syn, e.headline()
        pub = published(e.paper_row, s.info.name, s.ipc) or "-"
        its, secs = s.config.get("completed_iterations"), s.config.get("distill_s")
        its = "-" if its is None else f"{its}" + (" (time budget)" if s.config.get("budget_hit") else "")
        rows.append([e.label, e.method, s.info.name, str(s.ipc), _fmt(res), res.protocol if res else "-", pub,
                     its, "-" if secs is None else f"{secs:.0f}", str(s.seed), s.version])
    return ("table", ["set", "method", "dataset", "IPC", "accuracy %", "protocol", "published",
                      "iterations", "distill s", "seed", "version"], rows)


def _method_tables(entries: list[RunEntry]) -> list[Block]:
    blocks: list[Block] = []
    for dataset in sorted({e.syn.info.name for e in entries}):
        mine = [e for e in entries if e.syn.info.name == dataset]
        ipcs = sorted({e.syn.ipc for e in mine})
        rows, paper_row = [], {e.method: e.paper_row for e in mine}
        for method in sorted(paper_row):
            cells = []
            for ipc in ipcs:
                sel = [e for e in mine if e.method == method and e.syn.ipc == ipc and e.headline()]
                pooled, pub = _pooled([e.headline() for e in sel]), published(paper_row[method], dataset, ipc)
                mark = " ✓" if pooled and within_std(pooled[1].mean, pub) else ""
                mark += " †" if any(e.syn.config.get("budget_hit") for e in sel) else ""
                cells.append(f"{pooled[0] if pooled else '-'} ({pub or '-'}){mark}")
            rows.append([method, *cells])
        blocks += [("h2", f"{dataset}: methods x IPC (ours, published in brackets)"),
                   ("p", "Where several sets share a method and IPC, their cell pools the networks of all of them, "
                         "as the papers pool the networks of several distillation runs; the summary above lists "
                         "each set. ✓: within the published std. †: a time budget stopped the distillation "
                         "before its iterations (a shortened run)."),
                   ("table", ["method", *[f"IPC {i}" for i in ipcs]], rows)]
    return blocks


def _pooled(results: list[EvalResult]) -> tuple[str, EvalResult] | None:
    """The networks of every result that shares the last one's protocol and model as one result, and its text:
    mean +- std (no std for one network) and how many sets they came from when more than one; None for none."""
    if not results:
        return None
    last = results[-1]
    same = [r for r in results if (r.protocol, r.model) == (last.protocol, last.model)]
    pooled = EvalResult(last.protocol, last.model, [a for r in same for a in r.accs], last.seed)
    return _acc(pooled) + (f" over {len(same)} sets" if len(same) > 1 else ""), pooled


def _variant(model: str) -> str | None:
    """The ConvNet ablation variant `model` names ('convnet:depth=2'), None for any other network or the default."""
    spec = ablation_spec(model)
    return None if spec == "convnet" else spec


def _crossarch(entries: list[RunEntry]) -> list[Block]:
    """The cross-architecture matrix over the sets trained on several networks (ConvNet variants: _ablations)."""
    archs = {e.label: {ev["model"] for ev in e.syn.evaluations if not _variant(ev["model"])} for e in entries}
    entries = [e for e in entries if len(archs[e.label]) > 1]  # trained on several networks
    models = sorted({m for e in entries for m in archs[e.label]})
    if not entries:
        return []
    rows = []
    for e in entries:
        cells = []
        for m in models:
            evs = [EvalResult.from_dict(ev) for ev in e.syn.evaluations if ev["model"] == m]
            cells.append(_acc(evs[-1]) if evs else "-")
        rows.append([f"{e.label} (made with {e.syn.config.get('model', 'convnet')})", *cells])
    shown = set()
    for e in entries:  # the papers' row for the same kind of set, once
        key = (e.paper_row, e.syn.info.name, e.syn.ipc, e.syn.config.get("model", "convnet"))
        pub = published_crossarch(*key)
        if pub and key not in shown:
            shown.add(key)
            rows.append([f"published: {key[0]} on {key[1]}, IPC {key[2]}, made with {key[3]} (DC paper, Figure 3)",
                         *[f"{pub[m]:.1f}" if m in pub else "-" for m in models]])
    return [("h2", "Cross-architecture (rows: set made with, columns: trained on)"),
            ("table", ["set", *models], rows)]


def _ablations(entries: list[RunEntry]) -> list[Block]:
    """The DC paper's single-factor ConvNet tables (supplementary: Figure F10, Table T3, Figure F12): per factor,
    a row for each distilled set condensed with a ConvNet of that factor (the default or one variant) and trained
    on more than one of them, a column per variant; the paper's cell in brackets for DC sets of MNIST at IPC 1.
    Rows follow the paper's order of the networks condensed with (the order the sets came in within one). Where
    several sets of one method, dataset and IPC were condensed with the same network, a row after theirs pools
    their networks per cell, as the method tables do. A closing line counts the cells within the paper's std per
    distillation seed, each set's own rows, a network it was trained on counted once (the default ConvNet's cell is
    in every table), then the cells of the pooled rows, all seeds together."""
    tables: list[Block] = []
    ticks: dict[tuple[int, bool], dict[tuple[int, str], bool]] = {}  # (seed, condensed with a variant) -> cells
    pooled_ticks: dict[tuple[str, str], bool] = {}  # (condensed with, trained on) -> the pooled row's cell within
    for factor in ablation_factors():
        variants = list(published_ablation(factor))
        groups: dict[tuple, list[tuple[RunEntry, dict[str, EvalResult]]]] = {}
        for e in entries:
            made = ablation_spec(e.syn.made_with)
            if e.coreset or made not in variants:
                continue
            cells = {ablation_spec(ev["model"]): EvalResult.from_dict(ev) for ev in e.syn.evaluations
                     if not ev.get("config", {}).get("model_kw")}  # the last evaluation of each network
            if len(set(cells) & set(variants)) >= 2:
                groups.setdefault((made, e.method, e.syn.info.name, e.syn.ipc), []).append((e, cells))
        rows = []
        for (made, _method, dataset, ipc), sets in sorted(groups.items(), key=lambda g: variants.index(g[0][0])):
            paper = sets[0][0].syn.method == "dc" and (dataset, ipc) == ("mnist", 1)
            pub = published_ablation(factor, made) if paper else {}
            labelled = [(f"{e.label} (condensed with {made})", {v: _pooled([c[v]] if v in c else []) for v in variants})
                        for e, c in sets]
            if len(sets) > 1:
                labelled.append((f"pooled: {len(sets)} sets above (condensed with {made})",
                                 {v: _pooled([c[v] for _, c in sets if v in c]) for v in variants}))
            for i, (label, pooled) in enumerate(labelled):
                row = [label]
                for v in variants:
                    text, res = pooled[v] or ("-", None)
                    ok = bool(res and within_std(res.mean, pub.get(v)))
                    if res and v in pub and i < len(sets):  # a set's own row, not the pooled one
                        e = sets[i][0]
                        ticks.setdefault((e.syn.seed, made != "convnet"), {})[(id(e), v)] = ok
                    elif res and v in pub:
                        pooled_ticks[(made, v)] = ok
                    row.append(text + (f" ({pub[v]})" if v in pub else "") + (" ✓" if ok else ""))
                rows.append(row)
        if rows:
            tables.append(("table", [f"set ({factor})", *variants], rows))
    if not tables:
        return []
    counts = [f"seed {seed}, condensed with {'a variant' if variant else 'the default ConvNet'}: "
              f"{sum(cells.values())} of {len(cells)}" for (seed, variant), cells in sorted(ticks.items())]
    if pooled_ticks:
        counts.append(f"pooled rows (the sets condensed with one network, all seeds together): "
                      f"{sum(pooled_ticks.values())} of {len(pooled_ticks)}")
    if counts:
        tables.append(("p", "Cells within the paper's std (each set's own row, a network it was trained on counted "
                            "once): " + "; ".join(counts) + "."))
    return [("h2", "ConvNet ablations (rows: condensed with, columns: trained on)"),
            ("p", "The DC paper's single-factor tables (supplementary: Figure F10, Table T3, Figure F12): one "
                  "factor of the ConvNet changed at a time, each variant a model spec; `convnet` is the default "
                  "(ReLU, average pooling, InstanceNorm, depth 3, width 128). The paper's cell in brackets (DC, "
                  "MNIST, IPC 1). ✓: within its std. Where several sets were condensed with the same network, "
                  "a pooled row follows theirs: each cell the networks of all of them, as the papers pool runs."),
            *tables]


def _per_run(e: RunEntry) -> list[Block]:
    s = e.syn
    blocks: list[Block] = [("h2", f"{e.label}: {e.method} on {s.info.name}, IPC {s.ipc}"),
                           ("img", f"{e.label}_grid.png", _grid_png(s), "synthetic images, one row per class")]
    curve = _curve_png(e)
    if curve:
        blocks.append(("img", f"{e.label}_curve.png", curve, "accuracy vs iteration (mean +- std)"))
    prov = {"command": e.environment.get("command", "-"), "seed": s.seed, "version": s.version,
            "torch": e.environment.get("torch", "-"), "distill_s": s.config.get("distill_s"),
            "completed_iterations": s.config.get("completed_iterations"),
            "budget_hit": s.config.get("budget_hit"), "zca": bool(s.zca),
            "method_config": s.config.get("method_config")}
    prov.update({k: s.config[k] for k in ("options", "features") if k in s.config})  # a coreset's selection
    made = [f"`{prov['command']}`" if prov["command"] != "-" else "command not recorded", f"seed {s.seed}",
            f"datadistill {s.version}", f"torch {prov['torch']}"]
    resumed = e.environment.get("resumed", [])
    if resumed:
        prov["resumed"] = resumed
        made += [f"resumed after iteration {r['from_iteration']} by `{r['command']}`" for r in resumed]
    if prov["completed_iterations"] is not None:
        made.append(f"{prov['completed_iterations']} iterations")
    if prov["distill_s"] is not None:
        made.append(f"{prov['distill_s'] / 60:.1f} min of distillation"
                    + (" (stopped by its time budget)" if prov["budget_hit"] else ""))
    blocks += [("p", "Made by " + ", ".join(made) + "."), ("pre", json.dumps(prov, indent=2))]
    return blocks


def _mean_std(vals: list[float]) -> str:
    m = sum(vals) / len(vals)
    return f"{m:.2f} +- {(sum((v - m) ** 2 for v in vals) / len(vals)) ** 0.5:.2f}"


def _continual_blocks(folder: Path) -> list[Block]:
    """A `datadistill continual` results folder: accuracy on every seen task after each stage, and its plot."""
    meta = json.loads((folder / "config.json").read_text())
    cfg, n = meta["config"], meta["runs"]
    runs = [json.loads(x)["accs"] for x in (folder / "runs.jsonl").read_text().splitlines() if x.strip()][:n]
    tasks = list(cfg["tasks"])
    rows = [[name, *[_mean_std([r[t][j] for r in runs]) if j <= t else "" for j in range(len(tasks))]]
            for t, name in enumerate(tasks)]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3))
    for j, name in enumerate(tasks):
        xs = list(range(j, len(tasks)))
        ax.plot([tasks[t] for t in xs], [sum(r[t][j] for r in runs) / len(runs) for t in xs], marker="o",
                label=f"test on {name}")
    ax.set_xlabel("after training on")
    ax.set_ylabel("accuracy (%)")
    ax.legend()
    ax.grid(alpha=0.3)
    what = (f"memory {cfg['fill']} ({cfg['memory_per_class']} per class per task), KD "
            f"{'on' if cfg['kd'] else 'off'}, {len(runs)} runs")
    return [("h2", f"Continual learning {' -> '.join(tasks)} ({folder.name}): {what}"),
            ("p", "Test accuracy (%) on each task after each training stage, mean +- std over runs."),
            ("table", ["after", *[f"test {t}" for t in tasks]], rows),
            ("img", f"{folder.name}_stages.png", _png(fig), "accuracy on each task after each stage")]


def _nas_blocks(folder: Path) -> list[Block]:
    """A `datadistill nas` results folder: each proxy's rank correlation, pick and time, and its scatter plot."""
    from .applications.nas import SUMMARY_HEADER, load_log, partial_ground_truth, summarize, summary_rows

    meta = json.loads((folder / "config.json").read_text())
    top, runs, full_runs = meta["config"]["top"], meta["config"].get("runs"), meta["config"].get("full_runs")
    summary = summarize(folder / "search.jsonl", top, runs, full_runs)
    results, _, _ = load_log(folder / "search.jsonl", runs, full_runs)
    rows = summary_rows(summary)
    plt = _pyplot()
    full = results["full"]
    proxies = [k for k in results if k != "full"]
    # with a full-data ground truth of only the proxies' tops, mark each proxy's own top (what is measured)
    partial = partial_ground_truth(results)
    fig, axes = plt.subplots(1, max(1, len(proxies)), figsize=(3.2 * max(1, len(proxies)), 3), squeeze=False)
    for ax, name in zip(axes[0], proxies):
        ranked = results[name] if partial else full
        best = set(sorted(ranked, key=ranked.get, reverse=True)[:top])
        for chosen, colour in ((False, "0.6"), (True, "C3")):
            names = [c for c in results[name] if c in full and (c in best) == chosen]
            ax.scatter([results[name][c] for c in names], [full[c] for c in names], s=12, c=colour,
                       label=(f"proxy's top {top}" if partial else f"top {top} on full data") if chosen
                       else "others")
        ax.set_title(name)
        ax.set_xlabel("val acc after proxy training")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("val acc after full training")
    axes[0][0].legend(fontsize=7)
    return [("h2", f"Architecture search on proxy sets ({folder.name}): {meta.get('candidates', len(full))} "
                   f"ConvNets on {meta.get('dataset', '?')}"),
            ("p", f"Spearman rank correlation of validation accuracies after proxy and after full-data training, "
                  f"over the {top} candidates the proxy ranks best (the paper's measure), over the {top} best on "
                  "the full data, and over all; the candidate each proxy ranks first, with its validation and test "
                  "accuracy after full-data training; the time spent training on the proxy."),
            ("table", SUMMARY_HEADER, rows),
            ("img", f"{folder.name}_ranks.png", _png(fig), "each candidate: proxy vs full-data validation accuracy")]


def _whole_blocks(folder: Path) -> list[Block]:
    """A cache folder of whole-dataset accuracies (baselines.whole_dataset's): the upper bound of each dataset
    and network, one row per recipe length, beside the papers' figure (ConvNet only)."""
    rows = []
    for res in sorted(cached_whole(folder), key=lambda r: (r.config["dataset"], r.model, r.config["epochs"])):
        dataset = res.config["dataset"]
        pub = PUBLISHED_WHOLE.get(dataset) if res.model == "convnet" else None
        mark = " ✓" if within_std(res.mean, pub) else ""
        rows.append([dataset, res.model, str(res.config["epochs"]), f"{_fmt(res)}{mark}", pub or "-"])
    return [("h2", f"Upper bound: networks trained on the whole training split ({folder.name})"),
            ("p", "The whole-dataset column of the papers' Table 1, for every network trained so far with the "
                  "recipe in baselines.WHOLE (epochs as stated; the papers train to convergence and publish the "
                  "ConvNet's figure only). ✓: within the published std."),
            ("table", ["dataset", "model", "epochs", "accuracy %", "published"], rows)]


# results folders other than distilled sets that the report recognises: (how to tell one, its section)
APP_SECTIONS: dict[str, tuple[Callable[[Path], bool], Callable[[Path], list[Block]]]] = {
    "continual": (lambda p: (p / "runs.jsonl").exists() and (p / "config.json").exists(), _continual_blocks),
    "nas": (lambda p: (p / "search.jsonl").exists() and (p / "config.json").exists(), _nas_blocks),
    "whole": (lambda p: (p / WHOLE_CACHE).exists(), _whole_blocks),
}


def app_kind(path: str | Path) -> str | None:
    """'continual' / 'nas' for an application's results folder, 'whole' for a cache folder of whole-dataset
    accuracies, None otherwise."""
    path = Path(path)
    return next((k for k, (is_it, _) in APP_SECTIONS.items() if path.is_dir() and is_it(path)), None)


def write_app_results(folder: str | Path) -> Path:
    """An application's results folder's own page: folder/results.md with its table and plot (folder/img/)."""
    folder = Path(folder)
    kind = app_kind(folder)
    if kind is None:
        raise ArtifactError(f"{folder} holds no continual or NAS results; run `datadistill continual` or `nas` first")
    md = folder / "results.md"
    md.write_text(to_markdown(APP_SECTIONS[kind][1](folder), folder / "img"))
    return md


def report_blocks(paths: list[str | Path], title: str = "datadistill report") -> list[Block]:
    """The report's content, format-neutral: distilled sets (run folders or artifacts) and the results folders
    of the applications (continual learning, architecture search)."""
    if not paths:
        raise ArtifactError("no runs given; pass run folders, .safetensors artifacts or continual/NAS results folders")
    apps = [(Path(p), app_kind(p)) for p in paths if app_kind(p)]
    entries, skipped = [], []
    for p in paths:  # a glob over a runs folder also matches caches and expert buffers: leave those out
        if not app_kind(p):
            try:
                entries.append(RunEntry.open(p))
            except ArtifactError as err:
                skipped.append((Path(p), err))
    if skipped and not entries and not apps:
        raise skipped[0][1] if len(skipped) == 1 else ArtifactError(
            f"none of the {len(skipped)} paths holds a distilled set or continual/NAS results ({skipped[0][1]})")
    blocks: list[Block] = [("h1", title), ("p", "Accuracies are mean +- std over the stated number of fresh "
                                              "networks, tested on the real test split.")]
    if skipped:
        for path, err in skipped:
            log.warning("report: left out %s: %s", path, err)
        blocks.append(("p", "Left out, holding no distilled set or application results: "
                            + ", ".join(path.name for path, _ in skipped) + "."))
    if entries:
        blocks += [("h2", "Summary"), _summary(entries)] + _method_tables(entries) + _crossarch(entries)
        blocks += _ablations(entries)
    for folder, kind in apps:
        blocks += APP_SECTIONS[kind][1](folder)
    for e in entries:
        blocks += _per_run(e)
    return blocks


def to_markdown(blocks: list[Block], image_dir: Path) -> str:
    """Markdown with images written to image_dir (linked relatively)."""
    lines = []
    for b in blocks:
        if b[0] in ("h1", "h2"):
            lines.append(("#" if b[0] == "h1" else "##") + " " + b[1])
        elif b[0] == "p":
            lines.append(b[1])
        elif b[0] == "pre":
            lines.append("```\n" + b[1] + "\n```")
        elif b[0] == "table":
            lines.append("| " + " | ".join(b[1]) + " |\n|" + " --- |" * len(b[1]))
            lines[-1] += "".join("\n| " + " | ".join(r) + " |" for r in b[2])
        elif b[0] == "img":
            image_dir.mkdir(parents=True, exist_ok=True)
            (image_dir / b[1]).write_bytes(b[2])
            lines.append(f"![{b[3]}]({image_dir.name}/{b[1]})")
    return "\n\n".join(lines) + "\n"


def to_html(blocks: list[Block]) -> str:
    """One self-contained HTML page (images inline as base64 PNG)."""
    esc = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>datadistill report</title><style>"
             "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px}"
             "th{background:#f3f3f3}img{image-rendering:pixelated;max-width:100%}pre{background:#f7f7f7;"
             "padding:1em;overflow:auto}figure{margin:1em 0}.figs{display:flex;flex-wrap:wrap;gap:1.5em;"
             "align-items:flex-start}summary{cursor:pointer;color:#555}</style></head><body>"]
    for i, b in enumerate(blocks):
        prev, nxt = (blocks[i - 1][0] if i else None), (blocks[i + 1][0] if i + 1 < len(blocks) else None)
        if b[0] == "img" and prev != "img":  # a set's grid and curve side by side
            parts.append("<div class='figs'>")
        if b[0] in ("h1", "h2"):
            parts.append(f"<{b[0]}>{esc(b[1])}</{b[0]}>")
        elif b[0] == "p":  # markdown's `code` spans as <code>
            parts.append("<p>" + re.sub(r"`([^`]+)`", r"<code>\1</code>", esc(b[1])) + "</p>")
        elif b[0] == "pre":  # provenance: one click away, so the page reads as tables and pictures
            parts.append(f"<details><summary>provenance</summary><pre>{esc(b[1])}</pre></details>")
        elif b[0] == "table":
            head = "".join(f"<th>{esc(h)}</th>" for h in b[1])
            body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in b[2])
            parts.append(f"<table><tr>{head}</tr>{body}</table>")
        elif b[0] == "img":
            data = base64.b64encode(b[2]).decode()
            parts.append(f"<figure><img alt='{esc(b[3])}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{esc(b[3])}</figcaption></figure>")
        if b[0] == "img" and nxt != "img":
            parts.append("</div>")
    return "".join(parts) + "</body></html>\n"


def build_report(paths: list[str | Path], out: str | Path, title: str = "datadistill report") -> tuple[Path, Path]:
    """Write out/report.md (+ out/img/) and out/report.html; returns both paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    blocks = report_blocks(paths, title)
    md, page = out / "report.md", out / "report.html"
    md.write_text(to_markdown(blocks, out / "img"))
    page.write_text(to_html(blocks))
    return md, page
