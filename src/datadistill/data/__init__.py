"""Datasets: registered loaders (each with its pinned normalisation) and real-data sampling per class.

Every loader is `loader(root: Path | None, **options) -> DatasetSplits`; files for a dataset named N are looked
for in root/N/ then root/ (root defaults to $DATADISTILL_DATA, else ~/.cache/datadistill/data). Nothing is
ever downloaded: a missing file raises a one-line DataError naming it and the folders searched.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ._common import DATASETS, ENV_DATA_ROOT, cache_dir, data_root, to_grayscale
from .arrays import from_arrays
from .base import DatasetInfo, DatasetSplits, RealData, denormalize, normalize

# Imported for their @DATASETS.register side effect.
from . import cifar, digits, idx, imagefolder, svhn, usps  # noqa: E402,F401  isort: skip

__all__ = ["DATASETS", "ENV_DATA_ROOT", "DatasetInfo", "DatasetSplits", "RealData", "cache_dir", "data_root",
           "denormalize", "from_arrays", "list_datasets", "load_dataset", "normalize", "to_grayscale"]


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
