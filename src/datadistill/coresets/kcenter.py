"""k-center greedy (Sener & Savarese, ICLR 2018; the DC paper's k-center baseline): start from the image
nearest the class mean, then repeatedly add the image farthest from every chosen one, in the feature space
of a network trained on the whole training set (space='embed', default; 'logits' or 'pixels' measure the
distances in the network's logits or in the raw pixels instead). Outliers are therefore covered early.
"""
from __future__ import annotations

import torch

from . import SELECTIONS
from .source import SelectionSource


def k_center(features: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of k greedy k-center picks (first pick: nearest to the mean)."""
    f = features.double()
    first = int(((f - f.mean(0)) ** 2).sum(1).argmin())
    picks = [first]
    nearest = ((f - f[first]) ** 2).sum(1)  # squared distance to the closest chosen centre
    for _ in range(1, min(k, len(f))):
        i = int(nearest.argmax())
        picks.append(i)
        nearest = torch.minimum(nearest, ((f - f[i]) ** 2).sum(1))
    return torch.tensor(picks, dtype=torch.long)


@SELECTIONS.register("kcenter", "k-center")
def kcenter_selection(source: SelectionSource, ipc: int, generator: torch.Generator,
                      space: str = "embed") -> torch.Tensor:
    """K x ipc k-center picks per class, distances in the feature space `space` (SelectionSource.features)."""
    feats = source.features(space)
    return torch.stack([ix[k_center(feats[ix], ipc)] for ix in source.data.train.class_indices])
