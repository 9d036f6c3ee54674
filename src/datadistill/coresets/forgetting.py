"""Forgetting (Toneva et al., ICLR 2019; the DC paper's forgetting baseline): while a network trains on the
whole training set, count for every image how often it goes from classified correctly to incorrectly
between two consecutive presentations; select the most forgotten images of each class (ties broken at
random with the seeded generator). As in Toneva et al., an image never classified correctly during the run
counts as forgotten infinitely often, so those images come first.
"""
from __future__ import annotations

import torch

from . import SELECTIONS
from .source import SelectionSource


def forgetting_events(correct: torch.Tensor) -> torch.Tensor:
    """Per example, the number of 1 -> 0 transitions along its presentations (rows: presentations)."""
    c = correct.to(torch.int8)
    return ((c[:-1] == 1) & (c[1:] == 0)).sum(0)


@SELECTIONS.register("forgetting")
def forgetting_selection(source: SelectionSource, ipc: int, generator: torch.Generator) -> torch.Tensor:
    """K x ipc most-forgotten images per class; never-learned images first."""
    counts = source.forgetting_counts().double()
    # 'infinitely' forgotten: one above every count, so above any count plus its tie-break jitter (< 1)
    counts = torch.where(source.ever_learned(), counts, counts.max() + 1)
    rows = []
    for ix in source.data.train.class_indices:
        jitter = torch.rand(len(ix), generator=generator, dtype=torch.float64) * 0.5  # random tie-break
        rows.append(ix[torch.argsort(counts[ix] + jitter, descending=True)[:ipc]])
    return torch.stack(rows)
