"""Real data held as normalised tensors, with a per-class index for sampling class batches."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ..errors import ConfigError, DataError


@dataclass(frozen=True)
class DatasetInfo:
    """What a distilled set must remember about its source: shape, classes and pinned normalisation."""

    name: str
    channels: int
    im_size: tuple[int, int]
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_names: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "name": self.name, "channels": self.channels, "im_size": list(self.im_size),
            "num_classes": self.num_classes, "mean": list(self.mean), "std": list(self.std),
            "class_names": list(self.class_names),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "DatasetInfo":
        """Inverse of to_dict."""
        return cls(d["name"], int(d["channels"]), tuple(d["im_size"]), int(d["num_classes"]),
                   tuple(d["mean"]), tuple(d["std"]), tuple(d.get("class_names", ())))


def normalize(x01: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """(x - mean) / std per channel for an N x C x H x W tensor in [0, 1]."""
    m = torch.tensor(mean, dtype=x01.dtype).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x01.dtype).view(1, -1, 1, 1)
    return (x01 - m) / s


def denormalize(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """Inverse of normalize (result in roughly [0, 1])."""
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return x * s + m


@dataclass
class RealData:
    """One split: normalised float images N x C x H x W, int64 labels, and indices per class."""

    images: torch.Tensor
    labels: torch.Tensor
    num_classes: int
    class_indices: list[torch.Tensor] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.images.ndim != 4:
            raise DataError(f"images must be N x C x H x W, got shape {tuple(self.images.shape)}")
        if self.labels.shape != (self.images.shape[0],):
            raise DataError(f"{self.images.shape[0]} images but labels of shape {tuple(self.labels.shape)}")
        self.labels = self.labels.long()
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= self.num_classes):
            raise DataError(f"labels must lie in [0, {self.num_classes - 1}], "
                            f"found [{int(self.labels.min())}, {int(self.labels.max())}]")
        order = torch.argsort(self.labels, stable=True)
        counts = torch.bincount(self.labels, minlength=self.num_classes).tolist()
        self.class_indices = list(torch.split(order, counts))

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def class_counts(self) -> list[int]:
        """Number of images of each class."""
        return [len(ix) for ix in self.class_indices]

    def sample_class(self, c: int, n: int, generator: torch.Generator) -> torch.Tensor:
        """n random images of class c (without replacement when n <= count, as the reference's permutation)."""
        idx = self.class_indices[c]
        if len(idx) == 0:
            raise DataError(f"class {c} has no images")
        perm = torch.randperm(len(idx), generator=generator)[:n]
        return self.images[idx[perm]]

    def sample_classes(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n random images of every class, as one K x n x C x H x W tensor (one gather for all classes)."""
        picks = [ix[torch.randperm(len(ix), generator=generator)[:n]] for ix in self.class_indices]
        if min(len(p) for p in picks) < n:
            raise DataError(f"a class has fewer than {n} images; lower the real batch size")
        return self.images[torch.stack(picks)]

    def check_ipc(self, ipc: int) -> None:
        """Raise a one-line ConfigError when ipc is not possible for every class."""
        smallest = min(self.class_counts())
        if ipc < 1 or ipc > smallest:
            raise ConfigError(f"ipc {ipc} is out of range: the smallest class has {smallest} images "
                              f"(choose 1 <= ipc <= {smallest})")

    def subset(self, index: torch.Tensor) -> "RealData":
        """A new RealData with the rows in `index`."""
        return RealData(self.images[index], self.labels[index], self.num_classes)

    def map_images(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> "RealData":
        """A new RealData with fn(images) (same shape and order) and the same labels."""
        return RealData(fn(self.images), self.labels, self.num_classes)

    def validation_indices(self, fraction: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(rest, held-out) sorted indices: a stratified random `fraction` of every class (at least one image)."""
        if not 0 < fraction < 1:
            raise ConfigError(f"validation fraction must lie in (0, 1), got {fraction}")
        held = []
        for ix in self.class_indices:
            n = max(1, round(fraction * len(ix))) if len(ix) > 1 else 0
            held.append(ix[torch.randperm(len(ix), generator=generator)[:n]])
        val = torch.cat(held).sort().values
        keep = torch.ones(len(self), dtype=torch.bool)
        keep[val] = False
        return keep.nonzero().squeeze(1), val

    def split_validation(self, fraction: float, generator: torch.Generator) -> tuple["RealData", "RealData"]:
        """(rest, validation) RealData: see validation_indices."""
        rest, val = self.validation_indices(fraction, generator)
        return self.subset(rest), self.subset(val)


@dataclass
class DatasetSplits:
    """A loaded dataset: train and test splits plus its info."""

    info: DatasetInfo
    train: RealData
    test: RealData

    def map_images(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> "DatasetSplits":
        """Both splits transformed by fn (e.g. ZCA whitening); info unchanged."""
        return DatasetSplits(self.info, self.train.map_images(fn), self.test.map_images(fn))
