"""Per-model accuracies kept in a JSON-lines file as soon as each model is tested.

A long evaluation (a whole-data bound, a coreset cell at IPC 50: half an hour per network on two cores) that
stops part-way continues with the models the file lacks. Each line is {"key": ..., "model_index": i, "acc": a}
plus the cache's note; a key names everything the accuracy depends on (data, set, model, protocol, seed), and
lines of other keys in the same file are left alone.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..data.base import RealData
from ..runtime import effective_precision
from .train import EvalSpec


def tensor_digest(*tensors: Tensor | None) -> str:
    """A short fingerprint of tensors' dtypes, shapes and values (a set's images, labels, learned lrs): the same
    set gives the same key wherever it is loaded, a changed one another."""
    h = hashlib.sha256()
    for t in tensors:
        if t is None:
            h.update(b"none;")
            continue
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)};".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


class AccuracyCache:
    """The accuracies of the models of one evaluation (`key`), in `file` (created on the first `keep`). `note`
    is written beside each accuracy without being part of the key (e.g. the precision the model computed in)."""

    def __init__(self, file: Path | str, key: Mapping[str, Any], note: Mapping[str, Any] | None = None):
        self.file = Path(file)
        self.key = dict(key)
        self.note = dict(note or {})
        self._tag = json.dumps(self.key, sort_keys=True)

    @property
    def digest(self) -> str:
        """A short name for the key (e.g. a folder for the key's unfinished models)."""
        return hashlib.sha256(self._tag.encode()).hexdigest()[:16]

    def known(self, runs: int) -> dict[int, float]:
        """Accuracies of models 0..runs-1 already in the file (a later line of a model wins)."""
        found: dict[int, float] = {}
        if not self.file.exists():
            return found
        for line in self.file.read_text().splitlines():
            rec = json.loads(line) if line.strip() else {}
            if json.dumps(rec.get("key"), sort_keys=True) == self._tag and 0 <= rec.get("model_index", -1) < runs:
                found[int(rec["model_index"])] = float(rec["acc"])
        return found

    def keeping(self, then: Callable[[int, float], None] | None = None) -> Callable[[int, float], None]:
        """An on_model callback that keeps each accuracy, then calls `then` (e.g. a progress line)."""
        def kept(index: int, acc: float) -> None:
            self.keep(index, acc)
            if then is not None:
                then(index, acc)
        return kept

    def keep(self, index: int, acc: float) -> None:
        """Append one model's accuracy (the on_model callback of an evaluation)."""
        self.file.parent.mkdir(parents=True, exist_ok=True)
        with self.file.open("a") as f:
            f.write(json.dumps({"key": self.key, "model_index": index, "acc": acc, **self.note}) + "\n")


def cached_evaluations(file: Path | str) -> list[tuple[dict[str, Any], dict[int, float]]]:
    """Every key of a cache file with its models' accuracies (a later line of a model wins), keys in the order
    the file first names them; [] when there is no file."""
    found: dict[str, tuple[dict[str, Any], dict[int, float]]] = {}
    file = Path(file)
    if not file.exists():
        return []
    for line in file.read_text().splitlines():
        rec = json.loads(line) if line.strip() else {}
        if "key" in rec and "acc" in rec:
            tag = json.dumps(rec["key"], sort_keys=True)
            found.setdefault(tag, (rec["key"], {}))[1][int(rec["model_index"])] = float(rec["acc"])
    return list(found.values())


def set_evaluation_cache(file: Path | str, images: Tensor, labels: Tensor, lrs: Tensor | None, test: RealData,
                         spec: EvalSpec, **key: Any) -> AccuracyCache:
    """The cache of one evaluation of a set: keyed by the set's content, the size of the test split, the model,
    protocol and seed (plus `key`, e.g. the dataset or split name); notes the precision the models compute in."""
    proto = spec.protocol
    assert proto is not None
    return AccuracyCache(file, {
        "set": tensor_digest(images, labels, lrs), "n_test": len(test), "model": spec.model,
        "model_kw": dict(spec.model_kw), "protocol": proto.to_dict(), "seed": spec.seed, **key},
        note=run_note(spec))


def run_note(spec: EvalSpec) -> dict[str, Any]:
    """What a cached accuracy notes beside its key: how its model computed (precision, compiled or not), which
    changes float order but not the training."""
    proto = spec.protocol
    assert proto is not None
    note: dict[str, Any] = {"precision": effective_precision(torch.device(spec.device), proto.precision)}
    if spec.compile:
        note["compiled"] = True
    return note


__all__ = ["AccuracyCache", "cached_evaluations", "run_note", "set_evaluation_cache", "tensor_digest"]
