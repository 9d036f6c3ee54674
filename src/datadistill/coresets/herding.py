"""Herding (Welling, ICML 2009; the DC paper's herding baseline): greedily add the image that keeps the
running mean of the chosen features closest to the class mean, in the feature space (`embed`) of a network
trained on the whole training set (space='embed', default; 'logits' or 'pixels': the network's logits or the
raw pixels instead).
"""
from __future__ import annotations

import torch

from . import SELECTIONS
from .source import SelectionSource


def herd(features: torch.Tensor, k: int) -> torch.Tensor:
    """Indices (into features' rows) of k herding picks: step t minimises ||mu - mean(chosen + x)||."""
    f = features.double()
    mu = f.mean(0)
    total = torch.zeros_like(mu)
    free = torch.ones(len(f), dtype=torch.bool)
    picks = []
    for t in range(1, min(k, len(f)) + 1):
        dist = ((mu - (total + f) / t) ** 2).sum(1)
        dist[~free] = float("inf")
        i = int(dist.argmin())
        picks.append(i)
        free[i] = False
        total += f[i]
    return torch.tensor(picks, dtype=torch.long)


@SELECTIONS.register("herding")
def herding_selection(source: SelectionSource, ipc: int, generator: torch.Generator,
                      space: str = "embed") -> torch.Tensor:
    """K x ipc herding picks per class in the feature space `space` (deterministic given the feature network)."""
    feats = source.features(space)
    return torch.stack([ix[herd(feats[ix], ipc)] for ix in source.data.train.class_indices])


def nearest(features: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the k rows nearest the mean of all rows, nearest first."""
    f = features.double()
    return ((f - f.mean(0)) ** 2).sum(1).argsort()[:k]


@SELECTIONS.register("nearest_mean")
def nearest_mean_selection(source: SelectionSource, ipc: int, generator: torch.Generator,
                           space: str = "embed") -> torch.Tensor:
    """The ipc images nearest the class mean in the same feature space: the DC paper's own wording of its
    herding baseline ("selects closest samples to the cluster center"), kept beside Welling's greedy herding to
    compare with the paper's herding row. Identical to herding at IPC 1."""
    feats = source.features(space)
    return torch.stack([ix[nearest(feats[ix], ipc)] for ix in source.data.train.class_indices])
