"""Datasets: registered loaders (each with its pinned normalisation) and real-data sampling per class.

Every loader is `loader(root: Path | None, **options) -> DatasetSplits`; files for a dataset named N are looked
for in root/N/ then root/ (root defaults to $DATADISTILL_DATA, else ~/.cache/datadistill/data). Nothing is
ever downloaded: a missing file raises a one-line DataError naming it and the folders searched.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..errors import ConfigError
from ._common import DATASETS, ENV_DATA_ROOT, cache_dir, data_root, to_grayscale
from .arrays import from_arrays
from .base import DatasetInfo, DatasetSplits, RealData, denormalize, normalize

# Imported for their @DATASETS.register side effect.
from . import cifar, digits, idx, imagefolder, svhn, usps  # noqa: E402,F401  isort: skip

__all__ = ["DATASETS", "ENV_DATA_ROOT", "DataLike", "DatasetInfo", "DatasetSplits", "RealData", "cache_dir",
           "data_root", "denormalize", "from_arrays", "list_datasets", "load_dataset", "normalize", "resolve_data",
           "to_grayscale"]

DataLike = str | DatasetSplits | Sequence[Any]


def list_datasets() -> list[str]:
    """Sorted names (aliases included) that load_dataset accepts."""
    return DATASETS.names()


def load_dataset(name: str, root: str | Path | None = None, **kw: Any) -> DatasetSplits:
    """Load dataset `name` (see list_datasets) from `root`; options such as size= go to its loader."""
    loader = DATASETS.get(name)
    params = inspect.signature(loader).parameters
    unknown = sorted(set(kw) - {k for k, p in params.items() if p.kind is p.KEYWORD_ONLY})
    if unknown:
        options = ", ".join(k for k, p in params.items() if p.kind is p.KEYWORD_ONLY) or "none"
        raise ConfigError(f"dataset '{name}' has no option {', '.join(unknown)}; its options: {options}")
    return loader(None if root is None else Path(root).expanduser(), **kw)


def resolve_data(data: DataLike, root: str | Path | None = None, **kw: Any) -> DatasetSplits:
    """A dataset name, loaded splits, (x_train, y_train, x_test, y_test) arrays, or (train, test) Datasets."""
    if isinstance(data, DatasetSplits):
        return data
    if isinstance(data, str):
        return load_dataset(data, root, **kw)
    if isinstance(data, (tuple, list)) and len(data) == 4:
        return from_arrays(*data, **kw)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        (xtr, ytr), (xte, yte) = (_stack(d) for d in data)
        return from_arrays(xtr, ytr, xte, yte, **kw)
    raise ConfigError("data must be a dataset name, DatasetSplits, (x_train, y_train, x_test, y_test) "
                      "or (train_dataset, test_dataset)")


def _stack(ds: torch.utils.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """All (image, label) pairs of a map-style Dataset as two arrays."""
    xs, ys = zip(*(ds[i] for i in range(len(ds))))
    return torch.stack([torch.as_tensor(x) for x in xs]).numpy(), np.asarray([int(y) for y in ys])
