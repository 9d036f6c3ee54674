"""Cross-architecture evaluation (the DC paper's Figure 3): every set trained on every architecture.

Results are cached in each set's `evaluations` (keyed by protocol, model, seed and number of models), so a
matrix or a report never retrains what is already known; callers save the sets to keep new entries (`on_new`
after every new cell, so a stopped matrix keeps the cells it finished).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..synthetic import SyntheticSet
from .train import EvalResult


def cached(syn: SyntheticSet, protocol: str, model: str, seed: int, runs: int) -> EvalResult | None:
    """A stored evaluation with this protocol, model and seed over at least `runs` models (first `runs` kept)."""
    for e in syn.evaluations:
        if (e.get("protocol"), e.get("model"), int(e.get("seed", -1))) == (protocol, model, seed) and \
                len(e.get("accs", [])) >= runs and not e.get("config", {}).get("model_kw"):
            res = EvalResult.from_dict(e)
            res.accs = res.accs[:runs]
            return res
    return None


@dataclass
class CrossArchResult:
    """Rows: sets (labels), columns: architectures; cells: EvalResult."""

    rows: list[str]
    models: list[str]
    cells: dict[tuple[str, str], EvalResult]

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "models": self.models,
                "cells": {f"{r}|{m}": c.to_dict() for (r, m), c in self.cells.items()}}


def cross_architecture(sets: Sequence[tuple[str, SyntheticSet]], models: Sequence[str], runs: int,
                       evaluate: Callable[[SyntheticSet, str], EvalResult], protocol_of: Callable[[SyntheticSet], str],
                       seed: int = 0,
                       on_new: Callable[[str, SyntheticSet], None] | None = None) -> CrossArchResult:
    """Evaluate each (label, set) on each model with `evaluate(set, model)`, reusing cached results.

    `on_new(label, set)` is called after each newly computed cell (the set then holds the new evaluation).
    """
    if runs < 1:
        raise ConfigError(f"runs {runs}: each cell trains at least one network (pass --runs 1 or more)")
    cells = {}
    for label, syn in sets:
        for model in models:
            res = cached(syn, protocol_of(syn), model, seed, runs)
            if res is None:
                res = evaluate(syn, model)
                syn.evaluations.append(res.to_dict())
                if on_new is not None:
                    on_new(label, syn)
            cells[(label, model)] = res
    return CrossArchResult([label for label, _ in sets], list(models), cells)
