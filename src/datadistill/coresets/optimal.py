"""Optimal random selection: the best of N random sets, judged on a validation split carved from the
training data (stratified, seeded); the candidates are drawn from the rest, so the test split never chooses.
"""
from __future__ import annotations

import torch

from ..evaluate import EvalSpec, Protocol, evaluate_tensors, get_protocol
from . import SELECTIONS
from .source import SelectionSource


@SELECTIONS.register("optimal_random", "optimal")
def optimal_random_selection(source: SelectionSource, ipc: int, generator: torch.Generator,
                             candidates: int = 10, model: str = "convnet", protocol: str | Protocol = "quick",
                             val_fraction: float = 0.1) -> torch.Tensor:
    """K x ipc indices of the random candidate whose trained network scores best on the validation split."""
    train, info = source.data.train, source.data.info
    rest, held = train.validation_indices(val_fraction, generator)
    val = train.subset(held)
    pools = [rest[train.labels[rest] == c] for c in range(info.num_classes)]
    seed = int(torch.randint(2**31, (1,), generator=generator))
    spec = EvalSpec(model, get_protocol(protocol), runs=1, seed=seed)
    best, best_acc = None, -1.0
    for _ in range(candidates):
        idx = torch.stack([pool[torch.randperm(len(pool), generator=generator)[:ipc]] for pool in pools])
        flat = idx.reshape(-1)
        acc = evaluate_tensors(train.images[flat], train.labels[flat], info, val, spec).mean
        if acc > best_acc:
            best, best_acc = idx, acc
    return best
