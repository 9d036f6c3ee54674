"""Coreset selections: functions returning, per class, the indices of IPC real training images.

Each selection lives in its own module and registers `fn(source, ipc, generator) -> LongTensor (K, ipc)` of
indices into `source.train` (row c holds distinct indices of class c; an option may ask for a class-imbalanced
selection instead, returned as one flat vector of K x ipc indices). `source` is a SelectionSource: the
data plus the lazily trained, cached network that herding / k-center features and forgetting counts need.
`select(name, data, ipc, seed)` runs one; `coreset_set(...)` turns the indices into a SyntheticSet.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..data import DataLike, resolve_data
from ..registry import Registry
from ..seeding import make_generator
from ..synthetic import SyntheticSet
from .source import SelectionSource, whole_recipe

Selection = Callable[..., torch.Tensor]  # (source, ipc, generator, **options) -> K x ipc indices
SELECTIONS: Registry[Selection] = Registry("coreset selection")


def _source(data: DataLike | SelectionSource, seed: int) -> SelectionSource:
    """A SelectionSource as it is, or one over the data (a name, splits, arrays or Datasets: api.resolve_data)."""
    return data if isinstance(data, SelectionSource) else SelectionSource(resolve_data(data), seed=seed)


def select(name: str, data: DataLike | SelectionSource, ipc: int, seed: int = 0, **options: Any) -> torch.Tensor:
    """K x ipc indices into the training split chosen by selection `name` (seeded); options go to it."""
    fn = SELECTIONS.get(name)
    source = _source(data, seed)
    source.data.train.check_ipc(ipc)
    return fn(source, ipc, make_generator(seed, "baseline", name, ipc), **options)


def coreset_set(name: str, data: DataLike | SelectionSource, ipc: int, seed: int = 0,
                **options: Any) -> SyntheticSet:
    """The selected real images as a SyntheticSet (method = the selection's name). Its config keeps the indices, the
    options and, for a selection that used the source's network (features, forgetting counts), that network's
    provenance (`features`: model, recipe, seed)."""
    source = _source(data, seed)
    source.network_used = False
    idx = select(name, source, ipc, seed, **options).reshape(-1)
    train, info = source.data.train, source.data.info
    config: dict[str, Any] = {"baseline": name, "indices": idx.tolist(), "options": options}
    if source.network_used:
        config["features"] = source.provenance()
    return SyntheticSet(train.images[idx].clone(), train.labels[idx].clone(), info, name, ipc, config=config,
                        seed=seed)


def selection_label(name: str, config: dict[str, Any]) -> str:
    """A coreset set as tables name it: the selection, then what sets it apart from the plain one, its options and
    a feature network other than the default whole-data ConvNet: 'forgetting (never_learned=first)',
    'kcenter (convnet 5-epoch features)'. `config` is the set's (coreset_set writes it)."""
    parts = [f"{k}={v}" for k, v in sorted(config.get("options", {}).items())]
    feats, default = config.get("features"), whole_recipe()
    if feats and (feats["model"], feats["epochs"], feats["augment"]) != ("convnet", default.epochs, default.augment):
        parts.append(f"{feats['model']} {feats['epochs']}-epoch features"
                     + ("" if feats["augment"] == default.augment else f", {feats['augment']}-augmented"))
    return f"{name} ({'; '.join(parts)})" if parts else name


def list_selections() -> list[str]:
    """Registered selection names."""
    return SELECTIONS.names()


from . import forgetting, herding, kcenter, optimal, random  # noqa: E402,F401  (register the selections)

__all__ = ["SELECTIONS", "SelectionSource", "coreset_set", "list_selections", "select", "selection_label"]
