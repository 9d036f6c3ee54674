"""The distilled set as an artifact: tensors in safetensors, everything else as JSON metadata.

Loading never unpickles: safetensors holds only raw tensors and a str -> str metadata map.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from .data.base import DatasetInfo, denormalize
from .errors import ArtifactError
from .fileio import handle_meta, save_tensors

FORMAT = "datadistill.synthetic/1"


def _version() -> str:
    from . import __version__
    return __version__


@dataclass
class SyntheticSet:
    """Images (normalised, N x C x H x W), labels, learned lrs and the provenance that makes them reusable."""

    images: torch.Tensor
    labels: torch.Tensor
    info: DatasetInfo
    method: str
    ipc: int
    lrs: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    schedule: dict[str, Any] = field(default_factory=dict)
    zca: dict[str, torch.Tensor] = field(default_factory=dict)
    extra: dict[str, torch.Tensor] = field(default_factory=dict)  # e.g. DD's fixed initial parameters
    config: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    version: str = field(default_factory=_version)
    evaluations: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def made_with(self) -> str:
        """The network the set was distilled with, as a model spec ('convnet:depth=1'; 'convnet' when unrecorded)."""
        from .models import model_spec

        return model_spec(self.config.get("model", "convnet"), self.config.get("model_kw"))

    def to_dataset(self) -> torch.utils.data.TensorDataset:
        """A torch Dataset of (image, label) pairs in the normalised space the set was made in."""
        return torch.utils.data.TensorDataset(self.images.detach().clone(), self.labels.clone())

    def images01(self) -> torch.Tensor:
        """Images mapped back to [0, 1] for viewing (inverse ZCA first when the set was whitened)."""
        x = self.images.detach().float()
        if self.zca:
            from .augment.zca import zca_inverse
            x = zca_inverse(x, self.zca)
        return denormalize(x, self.info.mean, self.info.std).clamp(0, 1)

    def metadata(self) -> dict[str, Any]:
        """Everything but the tensors, JSON-serialisable."""
        return {
            "format": FORMAT, "info": self.info.to_dict(), "method": self.method, "ipc": self.ipc,
            "schedule": self.schedule, "config": self.config, "seed": self.seed,
            "version": self.version, "evaluations": self.evaluations,
        }

    def save(self, path: str | Path) -> Path:
        """Write one .safetensors file (tensors + JSON metadata); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {"images": self.images.detach().float().contiguous().cpu(),
                   "labels": self.labels.long().contiguous().cpu(),
                   "lrs": self.lrs.detach().float().contiguous().cpu()}
        tensors.update({f"zca.{k}": v.float().contiguous().cpu() for k, v in self.zca.items()})
        tensors.update({f"extra.{k}": v.contiguous().cpu() for k, v in self.extra.items()})
        return save_tensors(path, tensors, self.metadata())

    @classmethod
    def load(cls, path: str | Path) -> "SyntheticSet":
        """Read a file written by save (a run folder is accepted too)."""
        path = resolve_artifact(path)
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = json.loads(handle_meta(f) or "null")
                tensors = {k: f.get_tensor(k) for k in f.keys()}
        except Exception as e:  # safetensors raises its own error types; all mean 'not readable'
            raise ArtifactError(f"{path} is not a readable datadistill artifact ({type(e).__name__}: "
                                f"{str(e).splitlines()[0] if str(e) else 'no detail'})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ArtifactError(f"{path} has no datadistill metadata; was it written by SyntheticSet.save?")
        zca = {k[4:]: v for k, v in tensors.items() if k.startswith("zca.")}
        extra = {k[6:]: v for k, v in tensors.items() if k.startswith("extra.")}
        return cls(images=tensors["images"], labels=tensors["labels"], lrs=tensors["lrs"], zca=zca, extra=extra,
                   info=DatasetInfo.from_dict(meta["info"]), method=meta["method"], ipc=int(meta["ipc"]),
                   schedule=meta.get("schedule", {}), config=meta.get("config", {}),
                   seed=int(meta.get("seed", 0)), version=meta.get("version", "?"),
                   evaluations=meta.get("evaluations", []))

    def export_png(self, path: str | Path, scale: int = 4) -> Path:
        """Save an image grid (rows = classes, columns = images per class)."""
        from .viz import save_grid
        return save_grid(self.images01(), self.labels, Path(path), scale=scale)

    def export_folder(self, folder: str | Path) -> Path:
        """Write one PNG per image into folder/<class>/ (an image folder any tool can read)."""
        from .viz import save_image_folder
        names = self.info.class_names or tuple(str(c) for c in range(self.info.num_classes))
        return save_image_folder(self.images01(), self.labels, Path(folder), names)


ARTIFACT_NAME = "synthetic.safetensors"


def artifact_target(path: str | Path) -> Path:
    """Where to write a set named by the user: a path ending in .safetensors is the file itself, any other
    path a run folder that holds ARTIFACT_NAME (as `distill --out` makes), which resolve_artifact reads back."""
    path = Path(path)
    return path if path.suffix == ".safetensors" else path / ARTIFACT_NAME


def resolve_artifact(path: str | Path) -> Path:
    """A path to the artifact file, given the file itself or its run folder."""
    path = Path(path)
    if path.is_dir():
        path = path / ARTIFACT_NAME
    if not path.exists():
        raise ArtifactError(f"no distilled set at {path}; pass a run folder or a .safetensors file")
    return path
