"""Neural architecture search on a proxy set (the DC paper, Sec. 3.2 and App. A).

Every ConvNet of a search space (depth x width x activation x norm x pooling: 4 x 4 x 3 x 5 x 3 = 720, or a
subset) is trained on a proxy (random real, herding, a distilled set: 100 epochs as the paper; or early
stopping: the full data for the same number of SGD iterations as a proxy needs) and ranked by its accuracy on a
validation split carved from the training data. The ranking is compared with the one from full-data training by
Spearman's rank correlation over the 10 candidates best on the full data (the paper's choice), and
the best-ranked candidate's test accuracy after full-data training is what the search would deliver (full-data
training records every candidate's test accuracy beside its validation accuracy). Results are appended to
a JSON-lines file as they come, one line per (proxy, candidate, training), so a search resumes where it stopped
and a search with more trainings per candidate (the paper averages 5) reuses the trainings already logged.
"""
from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..augment import AUGMENTATIONS
from ..data.base import DatasetSplits, RealData
from ..errors import ConfigError
from ..evaluate import EvalSpec, evaluate_tensors
from ..evaluate.protocols import Protocol
from ..models.convnet import ACTS, NORMS, POOLINGS
from ..seeding import derive_seed, make_generator


@dataclass(frozen=True)
class Candidate:
    """One ConvNet of the search space."""

    depth: int = 3
    width: int = 128
    act: str = "relu"
    norm: str = "instancenorm"
    pooling: str = "avgpooling"

    @property
    def name(self) -> str:
        return f"d{self.depth}-w{self.width}-{self.act}-{self.norm}-{self.pooling}"

    def model_kw(self) -> tuple[tuple[str, Any], ...]:
        return tuple(sorted(asdict(self).items()))


def search_space(depths: Iterable[int] = (1, 2, 3, 4), widths: Iterable[int] = (32, 64, 128, 256),
                 acts: Iterable[str] = ACTS, norms: Iterable[str] = NORMS,
                 poolings: Iterable[str] = POOLINGS) -> list[Candidate]:
    """The product of the options (the paper's 720 ConvNets by default)."""
    return [Candidate(*c) for c in itertools.product(depths, widths, acts, norms, poolings)]


def ranks(values: list[float]) -> torch.Tensor:
    """Ranks 1..n with ties given their average rank (as scipy.stats.rankdata)."""
    v = torch.tensor(values, dtype=torch.float64)
    order = torch.argsort(v, stable=True)
    r = torch.empty_like(v)
    r[order] = torch.arange(1, len(v) + 1, dtype=torch.float64)
    for value in torch.unique(v):
        tied = v == value
        r[tied] = r[tied].mean()
    return r


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation (Pearson correlation of the average ranks); nan when a ranking is constant."""
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = ra.norm() * rb.norm()
    return float((ra * rb).sum() / denom) if denom > 0 else float("nan")


@dataclass(frozen=True)
class NASConfig:
    """How candidates are trained: on a proxy for proxy_epochs, on the full data for full_epochs."""

    proxy_epochs: int = 100  # the DC paper trains every candidate on a proxy set for 100 epochs
    full_epochs: int = 2
    batch_size: int = 256
    top: int = 10  # Spearman over the 10 best candidates (the paper's 10): by the proxy, and by full data
    runs: int = 1  # trainings per candidate and proxy, averaged (the paper: 5); each logged on its own line
    full_runs: int | None = None  # trainings of the full-data ground truth, when not `runs` (it costs the most)
    seed: int = 0
    # full-data training of 'all' candidates, or only of the 'proxy-tops': the union of the `top` candidates each
    # proxy ranks best, which is all the paper's measure needs (the others' Spearman values are then not given)
    ground_truth: str = "all"
    # the augmentation ('dsa', 'dc') each proxy set's trainings use, by proxy name; 'none' for the others, and
    # always for the full data and early stopping (a pass over real data, not a tiny set trained for 100 epochs).
    # A set distilled with DSA is evaluated with DSA (the dsa2021 protocol): training candidates on it the same
    # way ranks them as the set was made to be used.
    augment: dict[str, str] = field(default_factory=dict)

    def runs_of(self, proxy: str) -> int:
        """Trainings per candidate under `proxy` ('full': the ground truth, `full_runs` when given)."""
        return self.full_runs if proxy == "full" and self.full_runs is not None else self.runs

    def augment_of(self, proxy: str) -> str:
        """The augmentation of the trainings under `proxy` ('none' unless `augment` names one)."""
        return self.augment.get(proxy, "none")


GROUND_TRUTHS = ("all", "proxy-tops")


def early_stopping_steps(proxies: dict[str, tuple[torch.Tensor, torch.Tensor] | None], cfg: NASConfig) -> int:
    """SGD iterations a proxy set needs (proxy_epochs x its batches per epoch): the budget of early stopping,
    "the same number of training iterations as the one required for the small proxy datasets"."""
    sizes = [len(xy[1]) for xy in proxies.values() if xy is not None]
    return cfg.proxy_epochs * math.ceil(max(sizes, default=cfg.batch_size) / cfg.batch_size)


def _first_batches(train: RealData, steps: int, batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The images of `steps` shuffled full-data batches (reshuffled each pass), for a one-epoch training."""
    gen = make_generator(seed, "nas", "early-stopping")
    need = steps * batch
    order = torch.cat([torch.randperm(len(train), generator=gen) for _ in range(math.ceil(need / len(train)))])
    idx = order[:need]
    return train.images[idx], train.labels[idx]


def run_seed(seed: int, run: int) -> int:
    """The seed of training number `run` of every candidate: the search's seed for the first (so a one-training
    search is the first training of a longer one), a derived stream for the others."""
    return seed if run == 0 else derive_seed(seed, "nas-run", run)


def _accs(cand: Candidate, x: torch.Tensor, y: torch.Tensor, data: DatasetSplits, val: RealData,
          epochs: int, cfg: NASConfig, run: int, with_test: bool, augment: str = "none") -> dict[str, float]:
    """Validation accuracy of `cand` trained on (x, y) (training number `run`, with `augment`), and its test
    accuracy when asked (full-data training: what the search delivers for the candidate it picks)."""
    proto = Protocol("nas", epochs=epochs, batch_size=cfg.batch_size, augment=augment,
                     precision="fp32" if cand.norm == "batchnorm" else "bf16")
    spec = EvalSpec("convnet", proto, runs=1, seed=run_seed(cfg.seed, run), model_kw=cand.model_kw())
    res = evaluate_tensors(x, y, data.info, val, spec, also=(data.test,) if with_test else ())
    accs = {"val_acc": res.mean}
    if with_test:
        accs["test_acc"] = res.config["also_accs"][0][0]
    return accs


def _record_run(r: dict[str, Any], log: Path) -> int:
    """The training number of a log line; lines of older logs (one training, no 'run') are training 0."""
    if "run" not in r and r.get("runs", 1) != 1:
        raise ConfigError(f"{log} holds an older search that logged the mean of {r['runs']} trainings per line; "
                          "give the search another results folder")
    return int(r.get("run", 0))


def run_search(data: DatasetSplits, val: RealData, proxies: dict[str, tuple[torch.Tensor, torch.Tensor] | None],
               candidates: list[Candidate], cfg: NASConfig, log: Path,
               callback: Callable[[dict[str, Any]], None] | None = None) -> dict[str, dict[str, float]]:
    """Validation accuracy of every candidate under every proxy (None = early stopping on the full data) and
    under full-data training ('full', which also records each candidate's test accuracy); resumes from `log`
    (JSON lines), training number after training number (cfg.runs of them, cfg.full_runs for the full data when
    given; those already logged are kept). Returns {proxy: {candidate: validation acc averaged over those
    trainings}}.
    Early stopping trains one pass over early_stopping_steps(...) shuffled full-data batches.
    With cfg.ground_truth 'proxy-tops' the proxies are trained first and the full data only trains the union of
    the cfg.top candidates each proxy ranks best."""
    if cfg.ground_truth not in GROUND_TRUTHS:
        raise ConfigError(f"unknown ground truth '{cfg.ground_truth}'; use one of {', '.join(GROUND_TRUTHS)}")
    for proxy, aug in cfg.augment.items():
        if proxy not in proxies or proxies[proxy] is None:
            raise ConfigError(f"augmentation '{aug}' is given for '{proxy}', which is not a proxy set of this search "
                              f"(proxy sets: {', '.join(k for k, v in proxies.items() if v is not None) or 'none'})")
        AUGMENTATIONS.get(aug)  # an unknown name fails here, before any training
    if cfg.ground_truth == "proxy-tops" and not proxies:
        raise ConfigError("ground truth 'proxy-tops' needs at least one proxy (the candidates it ranks best); "
                          "give a proxy or use 'all'")
    early = _first_batches(data.train, early_stopping_steps(proxies, cfg), cfg.batch_size, cfg.seed) \
        if None in proxies.values() else None
    full_job = ("full", (data.train.images, data.train.labels), cfg.full_epochs)
    proxy_jobs = [(k, early if v is None else v, 1 if v is None else cfg.proxy_epochs) for k, v in proxies.items()]
    epochs_of = {proxy: epochs for proxy, _, epochs in [full_job, *proxy_jobs]}
    done: set[tuple[str, str, int]] = set()
    if log.exists():
        for line in log.read_text().splitlines():
            r = json.loads(line)
            # lines of older logs carry no epochs and are taken as they are
            if "epochs" in r and r["proxy"] in epochs_of and r["epochs"] != epochs_of[r["proxy"]]:
                raise ConfigError(f"{log} holds '{r['proxy']}' trainings of {r['epochs']} epochs, this search asks "
                                  f"for {epochs_of[r['proxy']]}; give the search another results folder")
            # lines without an augmentation trained without one
            if r["proxy"] in epochs_of and r.get("augment", "none") != cfg.augment_of(r["proxy"]):
                raise ConfigError(f"{log} holds '{r['proxy']}' trainings with augmentation "
                                  f"'{r.get('augment', 'none')}', this search asks for '{cfg.augment_of(r['proxy'])}'"
                                  "; give the proxy another name or the search another results folder")
            done.add((r["proxy"], r["candidate"], _record_run(r, log)))

    def train(jobs: list, cands: list[Candidate]) -> None:
        # a whole training of every candidate before the next, so a stop keeps whole trainings
        for run in range(max(cfg.runs_of(p) for p, _, _ in jobs)):
            for proxy, (x, y), epochs in jobs:
                for cand in cands:
                    if run >= cfg.runs_of(proxy) or (proxy, cand.name, run) in done:
                        continue
                    t0 = time.perf_counter()
                    aug = cfg.augment_of(proxy)
                    accs = _accs(cand, x, y, data, val, epochs, cfg, run, with_test=proxy == "full", augment=aug)
                    rec = {"proxy": proxy, "candidate": cand.name, **accs, "run": run, "epochs": epochs,
                           **({"augment": aug} if aug != "none" else {}), "seconds": time.perf_counter() - t0}
                    with log.open("a") as f:
                        f.write(json.dumps(rec) + "\n")
                    done.add((proxy, cand.name, run))
                    if callback:
                        callback(rec)

    if cfg.ground_truth == "all":
        train([full_job, *proxy_jobs], candidates)
    else:
        train(proxy_jobs, candidates)
        tops = proxy_tops(load_log(log, cfg.runs)[0], [c.name for c in candidates], list(proxies), cfg.top)
        train([full_job], [c for c in candidates if c.name in tops])
    return load_log(log, cfg.runs, cfg.full_runs)[0]


def proxy_tops(results: dict[str, dict[str, float]], names: list[str], proxies: list[str], top: int) -> set[str]:
    """The union over `proxies` of the `top` candidates (among `names`) each ranks best."""
    tops: set[str] = set()
    for proxy in proxies:
        accs = {n: a for n, a in results.get(proxy, {}).items() if n in names}
        tops.update(sorted(accs, key=accs.get, reverse=True)[:top])
    return tops


def partial_ground_truth(results: dict[str, dict[str, float]]) -> bool:
    """Whether the full data trained only some of the candidates a proxy trained (ground truth 'proxy-tops')."""
    full = set(results["full"])
    return any(set(accs) - full for proxy, accs in results.items() if proxy != "full")


def load_log(log: Path, runs: int | None = None,
             full_runs: int | None = None) -> tuple[dict[str, dict[str, float]], dict[str, float],
                                                           dict[str, float]]:
    """A search log as ({proxy: {candidate: val acc}}, {candidate: full-data test acc}, {proxy: seconds}),
    accuracies averaged over the logged trainings (the first `runs` of them when given; of the full data the
    first `full_runs` when given), seconds summed."""
    vals: dict[tuple[str, str], list[float]] = {}
    tests: dict[str, list[float]] = {}
    seconds: dict[str, float] = {}
    for line in log.read_text().splitlines():
        r = json.loads(line)
        limit = full_runs if r["proxy"] == "full" and full_runs is not None else runs
        if limit is not None and _record_run(r, log) >= limit:
            continue
        vals.setdefault((r["proxy"], r["candidate"]), []).append(r["val_acc"])
        if r.get("test_acc") is not None:
            tests.setdefault(r["candidate"], []).append(r["test_acc"])
        seconds[r["proxy"]] = seconds.get(r["proxy"], 0.0) + r["seconds"]
    results: dict[str, dict[str, float]] = {}
    for (proxy, cand), v in vals.items():
        results.setdefault(proxy, {})[cand] = sum(v) / len(v)
    return results, {c: sum(v) / len(v) for c, v in tests.items()}, seconds


def summarize(log: Path, top: int, runs: int | None = None,
              full_runs: int | None = None) -> dict[str, dict[str, Any]]:
    """Per proxy (from the search log): the best-ranked candidate, its validation and test accuracy after
    full-data training, the proxy's total training time and three Spearman correlations with full-data
    training: over the `top` candidates the proxy ranks best (`spearman_proxy_top`: the paper's "selected top
    10 models", the ones a search on the proxy would go on with), over the `top` candidates best on the full
    data (`spearman_top`) and over all. The last entry, 'full data', is the search on the full data itself
    (the reference every proxy is measured against). Accuracies are the means over the logged trainings (the
    first `runs` when given; `full_runs` for the full data). When the full data trained only some of a proxy's
    candidates (ground truth 'proxy-tops'), the two correlations that need them all are None, and so is the full
    data's own pick."""
    results, tests, seconds = load_log(log, runs, full_runs)
    full = results["full"]
    best = sorted(full, key=full.get, reverse=True)[:top]
    partial = partial_ground_truth(results)
    out = {}
    for proxy, accs in [*((k, v) for k, v in results.items() if k != "full"), ("full", full)]:
        common = [n for n in best if n in accs]
        own = [n for n in sorted(accs, key=accs.get, reverse=True) if n in full][:top]
        chosen = max(accs, key=accs.get)
        if partial and proxy == "full":
            chosen = None
        out["full data" if proxy == "full" else proxy] = {
            "spearman_proxy_top": spearman([accs[n] for n in own], [full[n] for n in own]),
            "spearman_top": None if partial else spearman([accs[n] for n in common], [full[n] for n in common]),
            "spearman_all": None if partial else spearman([accs[n] for n in full if n in accs],
                                                          [full[n] for n in full if n in accs]),
            "chosen": chosen, "chosen_full_val": full.get(chosen), "chosen_full_test": tests.get(chosen),
            "top_k": len(common), "seconds": seconds[proxy]}
    return out


SUMMARY_HEADER = ["proxy", "Spearman (proxy's top)", "Spearman (full's top)", "Spearman (all)", "chosen",
                  "chosen: full-data val %", "chosen: full-data test %", "time"]


def summary_rows(summary: dict[str, dict[str, Any]]) -> list[list[str]]:
    """The rows of the summary table (SUMMARY_HEADER) every front end prints: CLI, report and benchmark."""
    num = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    return [[name, num(s["spearman_proxy_top"]), num(s["spearman_top"]), num(s["spearman_all"]), s["chosen"] or "-",
             num(s["chosen_full_val"]), num(s["chosen_full_test"]), f"{s['seconds'] / 60:.1f} min"]
            for name, s in summary.items()]
