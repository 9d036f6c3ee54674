"""Optimal random selection: the best of N random sets, judged on a validation split carved from the
training data (stratified, seeded); the candidates are drawn from the rest, so the test split never chooses.

The DC paper's Appendix C (Table T5) ranks 1,000 random sets by their test accuracy and reports the mean of the
top 10 / 100 / 1,000; `rank_random_sets` gives the same ranking on a validation split instead (the selection
takes its first entry), and bench/bench_ors.py evaluates its top sets under the paper's protocol.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from ..evaluate import EvalSpec, Protocol, evaluate_tensors, get_protocol
from ..evaluate.cache import set_evaluation_cache, tensor_digest
from . import SELECTIONS
from .source import SelectionSource

log = logging.getLogger(__name__)
SCREEN_CACHE = "optimal_random.jsonl"  # in the source's cache folder: every screened candidate's accuracy


@dataclass(frozen=True)
class Candidate:
    """One random set of a ranking: K x ipc indices into the training split, its validation accuracy (%) and
    its place in the order of drawing (0 = drawn first)."""

    indices: torch.Tensor
    val_acc: float
    draw: int


def rank_random_sets(source: SelectionSource, ipc: int, generator: torch.Generator, candidates: int = 10,
                     model: str = "convnet", protocol: str | Protocol = "quick", val_fraction: float = 0.1,
                     cache_file: str | Path | None = None) -> list[Candidate]:
    """`candidates` random sets (IPC images per class from the training split minus a stratified validation
    split), each judged by one `model` trained on it with `protocol` and tested on the validation split; best
    first, ties in the order of drawing. Each candidate's validation accuracy is kept in `cache_file` (JSON
    lines; default: SCREEN_CACHE in the source's cache folder, none when the source does not cache) as soon as it
    is known, so a ranking stopped part-way, or repeated, trains only the candidates the file lacks."""
    cache_file = cache_file if cache_file is not None else _default_cache(source)
    train, info = source.data.train, source.data.info
    rest, held = train.validation_indices(val_fraction, generator)
    val = train.subset(held)
    pools = [rest[train.labels[rest] == c] for c in range(info.num_classes)]
    seed = int(torch.randint(2**31, (1,), generator=generator))
    spec = EvalSpec(model, get_protocol(protocol), runs=1, seed=seed)
    ranked = []
    for draw in range(candidates):
        idx = torch.stack([pool[torch.randperm(len(pool), generator=generator)[:ipc]] for pool in pools])
        flat = idx.reshape(-1)
        x, y = train.images[flat], train.labels[flat]
        known, keep = {}, None
        if cache_file is not None:
            cache = set_evaluation_cache(cache_file, x, y, None, val, spec, data=info.name, split="validation",
                                         validation=tensor_digest(held))
            known, keep = cache.known(1), cache.keeping()
        acc = evaluate_tensors(x, y, info, val, spec, known=known, on_model=keep).mean
        ranked.append(Candidate(idx, acc, draw))
    return sorted(ranked, key=lambda c: (-c.val_acc, c.draw))


def _default_cache(source: SelectionSource) -> Path | None:
    """SCREEN_CACHE in the source's cache folder when it caches and the folder is writable; else None (warned)."""
    if not source.cache:
        return None
    file = source.cache_folder / SCREEN_CACHE
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.touch()
    except OSError as err:
        log.warning("could not keep the screened sets' accuracies in %s (%s); pass a writable cache folder "
                    "(cache_dir) to resume a stopped ranking", file.parent, err)
        return None
    return file


@SELECTIONS.register("optimal_random", "optimal")
def optimal_random_selection(source: SelectionSource, ipc: int, generator: torch.Generator,
                             candidates: int = 10, model: str = "convnet", protocol: str | Protocol = "quick",
                             val_fraction: float = 0.1, cache_file: str | Path | None = None) -> torch.Tensor:
    """K x ipc indices of the random candidate whose trained network scores best on the validation split."""
    return rank_random_sets(source, ipc, generator, candidates, model, protocol, val_fraction, cache_file)[0].indices
