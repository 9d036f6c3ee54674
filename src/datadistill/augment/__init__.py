"""Augmentations: differentiable siamese augmentation (DSA) and the DC paper's evaluation augmentation.

`make_augment(name, dataset, **kw)` returns `aug(x, generator) -> Tensor` with per-image parameters, for
training networks on a distilled set. Siamese use during distillation goes through `dsa_sample` /
`dsa_apply` (or `DSA.siamese`): one parameter set applied to the real and the synthetic batch.
"""
from __future__ import annotations

from dataclasses import fields
from typing import Any, Callable

import torch
from torch import Tensor

from ..errors import ConfigError
from ..registry import Registry
from .dc_aug import DCAugConfig, dc_augment
from .dc_reference import dc_augment_reference
from .dsa import DSA, DSAConfig, DSAParams, dsa_strategy_for
from .dsa import apply as dsa_apply
from .dsa import sample as dsa_sample

Augment = Callable[[Tensor, torch.Generator], Tensor]
AugmentFactory = Callable[..., Augment]

AUGMENTATIONS: Registry[AugmentFactory] = Registry("augmentation")


def _build(cls: type, kw: dict[str, Any]) -> Any:
    """Instantiate a config dataclass, turning unknown keywords into a one-line ConfigError."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(kw) - known)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} option '{unknown[0]}'; known: {', '.join(sorted(known))}")
    return cls(**kw)


@AUGMENTATIONS.register("dsa")
def _make_dsa(dataset: str | None = None, **kw: Any) -> Augment:
    """DSA with per-image parameters; the strategy defaults to the dataset's reference strategy."""
    kw.setdefault("strategy", dsa_strategy_for(dataset))
    return DSA(_build(DSAConfig, kw), per_image=True)


class _DCAugment:
    """A DC augmentation function bound to a config (a class so the callable has a readable repr)."""

    def __init__(self, cfg: DCAugConfig, fn: Callable[[Tensor, DCAugConfig, torch.Generator], Tensor],
                 label: str) -> None:
        self.cfg, self.fn, self.label = cfg, fn, label

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        return self.fn(x, self.cfg, generator)

    def __repr__(self) -> str:
        return f"{self.label}({self.cfg!r})"


@AUGMENTATIONS.register("dc")
def _make_dc(dataset: str | None = None, **kw: Any) -> Augment:
    """The DC evaluation augmentation, one batched bilinear warp; the dataset does not change its defaults."""
    return _DCAugment(_build(DCAugConfig, kw), dc_augment, "DCAugment")


@AUGMENTATIONS.register("dc-reference")
def _make_dc_reference(dataset: str | None = None, **kw: Any) -> Augment:
    """The DC evaluation augmentation with the reference's pixel rules (nearest scaling, integer shifts and
    degrees, scipy cubic rotation); see dc_reference.py."""
    return _DCAugment(_build(DCAugConfig, kw), dc_augment_reference, "DCAugmentReference")


def _identity(x: Tensor, generator: torch.Generator) -> Tensor:
    return x


@AUGMENTATIONS.register("none")
def _make_none(dataset: str | None = None, **kw: Any) -> Augment:
    """No augmentation."""
    if kw:
        raise ConfigError(f"augmentation 'none' takes no options, got: {', '.join(sorted(kw))}")
    return _identity


def make_augment(name: str, dataset: str | None = None, **kw: Any) -> Augment:
    """Build the registered augmentation `name` ('dsa', 'dc', 'dc-reference', 'none') as `aug(x, generator)`."""
    return AUGMENTATIONS.get(name)(dataset=dataset, **kw)


__all__ = [
    "AUGMENTATIONS",
    "Augment",
    "DCAugConfig",
    "DSA",
    "DSAConfig",
    "DSAParams",
    "dc_augment",
    "dc_augment_reference",
    "dsa_apply",
    "dsa_sample",
    "dsa_strategy_for",
    "make_augment",
]
