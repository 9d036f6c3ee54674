"""Optimal random selection: the best of N random sets, judged on a validation split carved from the
training data (stratified, seeded); the candidates are drawn from the rest, so the test split never chooses.

The DC paper's Appendix C (Table T5) ranks 1,000 random sets by their test accuracy and reports the mean of the
top 10 / 100 / 1,000; `rank_random_sets` gives the same ranking on a validation split instead (the selection
takes its first entry), and bench/bench_ors.py evaluates its top sets under the paper's protocol.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..evaluate import EvalSpec, Protocol, evaluate_tensors, get_protocol
from ..evaluate.cache import set_evaluation_cache, tensor_digest
from . import SELECTIONS
from .source import SelectionSource


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
    first, ties in the order of drawing. With `cache_file` (JSON lines) each candidate's validation accuracy is
    kept as soon as it is known, and a later ranking of the same candidates trains only those it lacks."""
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


@SELECTIONS.register("optimal_random", "optimal")
def optimal_random_selection(source: SelectionSource, ipc: int, generator: torch.Generator,
                             candidates: int = 10, model: str = "convnet", protocol: str | Protocol = "quick",
                             val_fraction: float = 0.1, cache_file: str | Path | None = None) -> torch.Tensor:
    """K x ipc indices of the random candidate whose trained network scores best on the validation split."""
    return rank_random_sets(source, ipc, generator, candidates, model, protocol, val_fraction, cache_file)[0].indices
