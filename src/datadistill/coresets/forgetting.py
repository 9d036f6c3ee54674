"""Forgetting (Toneva et al., ICLR 2019; the DC paper's forgetting baseline): while a network trains on the
whole training set, count for every image how often it goes from classified correctly to incorrectly
between two consecutive presentations; select the most forgotten images of each class (ties broken at
random with the seeded generator).

Images never classified correctly during the run have no forgetting event. By default they count as such
(never_learned='count': "pick the most forgotten", the DC paper's "samples which are easy to forget");
never_learned='first' follows Toneva et al.'s ordering: a run in which an image is never learned adds the run's
number of epochs (more events than any image can have in it), so those images come first. The images never
learned are mostly mislabelled or ambiguous; on MNIST (augmented counts) the count order reproduces the DC paper's
IPC 1 and 10, Toneva et al.'s order its IPC 50, and neither all three (measured figures in docs/results.md).

runs=N sums the counts of N training runs (the source's seed and the N - 1 seeds after it, each network trained
once and cached), as Toneva et al. rank MNIST by the counts of five runs.

scope='class' (default) takes the ipc most forgotten images of every class. scope='global' takes the K x ipc most
forgotten images of the whole training set wherever their classes fall, as Toneva et al. rank examples; the set
is then class-imbalanced (on Fashion-MNIST, trousers, sandals and bags are hardly ever forgotten, so they barely
appear), and the indices come back as one flat vector instead of K rows.
"""
from __future__ import annotations

import torch

from ..errors import ConfigError
from . import SELECTIONS
from .source import SelectionSource


def forgetting_events(correct: torch.Tensor) -> torch.Tensor:
    """Per example, the number of 1 -> 0 transitions along its presentations (rows: presentations)."""
    c = correct.to(torch.int8)
    return ((c[:-1] == 1) & (c[1:] == 0)).sum(0)


@SELECTIONS.register("forgetting")
def forgetting_selection(source: SelectionSource, ipc: int, generator: torch.Generator,
                         never_learned: str = "count", scope: str = "class", runs: int = 1) -> torch.Tensor:
    """K x ipc most-forgotten images per class (scope='global': the K * ipc most forgotten of the whole set, a
    flat vector); never-learned images by their count ('count', usually 0) or first ('first', Toneva et al.);
    counts summed over `runs` training runs."""
    if never_learned not in ("count", "first"):
        raise ConfigError(f"forgetting: never_learned must be count or first, got '{never_learned}'")
    if scope not in ("class", "global"):
        raise ConfigError(f"forgetting: scope must be class or global, got '{scope}'")
    if not isinstance(runs, int) or runs < 1:
        raise ConfigError(f"forgetting: runs must be a whole number >= 1, got '{runs}'")
    counts = sum(_run_counts(run, never_learned) for run in source.runs(runs))
    classes = source.data.train.class_indices
    if scope == "global":
        return _most_forgotten(counts, len(classes) * ipc, generator)
    return torch.stack([ix[_most_forgotten(counts[ix], ipc, generator)] for ix in classes])


def _run_counts(source: SelectionSource, never_learned: str) -> torch.Tensor:
    """One run's counts; with 'first', an image never learned in it counts as the run's epochs (Toneva et al.)."""
    counts = source.forgetting_counts().double()
    if never_learned == "first":
        counts = torch.where(source.ever_learned(), counts, float(source.recipe.epochs))
    return counts


def _most_forgotten(counts: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Positions of the n largest counts, ties broken at random (jitter < 1 never reorders distinct counts)."""
    jitter = torch.rand(len(counts), generator=generator, dtype=torch.float64) * 0.5
    return torch.argsort(counts + jitter, descending=True)[:n]
