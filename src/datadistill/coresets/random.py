"""Random selection: IPC images per class drawn uniformly without replacement (the 'random' rows)."""
from __future__ import annotations

import torch

from . import SELECTIONS
from .source import SelectionSource


@SELECTIONS.register("random")
def random_selection(source: SelectionSource, ipc: int, generator: torch.Generator) -> torch.Tensor:
    """K x ipc random indices, class by class."""
    return torch.stack([ix[torch.randperm(len(ix), generator=generator)[:ipc]]
                        for ix in source.data.train.class_indices])
