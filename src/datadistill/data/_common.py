"""Shared plumbing of the loaders: the registry, where files are looked for, splits and resizing."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError, DataError
from ..registry import Registry
from .base import DatasetInfo, DatasetSplits, RealData, denormalize

DATASETS: Registry = Registry("dataset")

ENV_DATA_ROOT = "DATADISTILL_DATA"
NO_DOWNLOAD = "datadistill never downloads data - place the original files there"


def data_root(root: str | Path | None = None) -> Path:
    """The data root: `root`, else $DATADISTILL_DATA, else ~/.cache/datadistill/data."""
    if root is None:
        root = os.environ.get(ENV_DATA_ROOT) or Path.home() / ".cache" / "datadistill" / "data"
    return Path(root).expanduser()


def cache_dir(dataset: str, root: str | Path | None = None) -> Path:
    """Where results computed once per dataset are cached (feature networks, whole-data accuracies)."""
    return data_root(root) / dataset / "cache"


def search_dirs(names: Sequence[str], root: str | Path | None) -> list[Path]:
    """Folders searched for a dataset called names[0] (aliases after it): root/<name>/ first, then root/."""
    base = data_root(root)
    dirs = [base / n for n in dict.fromkeys(names)] + [base]
    return list(dict.fromkeys(dirs))


def one_line(text: object) -> str:
    """Collapse any whitespace (newlines included) so an error message stays on one line."""
    return " ".join(str(text).split())


def missing_files_error(name: str, files: Sequence[str], dirs: Sequence[Path], hint: str = "") -> DataError:
    """The one-line DataError for files not found in any of `dirs`."""
    where = " or ".join(str(d) for d in dirs)
    extra = f" ({hint})" if hint else ""
    return DataError(f"{name}: expected {', '.join(files)} in {where}{extra}; {NO_DOWNLOAD}")


def locate(names: Sequence[str], root: str | Path | None, files: Sequence[str]) -> Path:
    """The first searched folder holding all of `files`; else a one-line DataError naming files and folders."""
    dirs = search_dirs(names, root)
    for d in dirs:
        if all((d / f).is_file() for f in files):
            return d
    hint = ""
    for d in dirs:  # say what is missing where a folder holds some of the files (a half-copied dataset)
        present = [f for f in files if (d / f).is_file()]
        if present:
            missing = [f for f in files if f not in present]
            hint = f"{d} lacks {', '.join(missing)}"
            break
    raise missing_files_error(names[0], files, dirs, hint)


def corrupt_error(name: str, path: Path, exc: object) -> DataError:
    """The one-line DataError for a file that cannot be decoded."""
    return DataError(f"{name}: file {path} is truncated or corrupt: {one_line(exc)}; replace it with the original")


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed per-class split: one Generator(seed) permutation, the first round(f * n_c) of each class go to test.

    round() is half-up; both index arrays are returned sorted, so the original order is kept in each split.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    labels = np.asarray(labels)
    perm = np.random.Generator(np.random.PCG64(seed)).permutation(len(labels))
    test_parts = []
    for c in np.unique(labels):
        members = perm[labels[perm] == c]
        test_parts.append(members[: int(np.floor(test_fraction * len(members) + 0.5))])
    test = np.sort(np.concatenate(test_parts)) if test_parts else np.zeros(0, dtype=np.int64)
    train = np.setdiff1d(np.arange(len(labels)), test)
    return train, test


def check_size(size: int | None) -> None:
    """Raise ConfigError unless size is None or a positive int."""
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise ConfigError(f"size must be a positive int or None, got {size!r}")


def resize(x: torch.Tensor, size: int | None) -> torch.Tensor:
    """Bilinear resize of an N x C x H x W float tensor to size x size (antialias off); None keeps it."""
    check_size(size)
    if size is None or tuple(x.shape[-2:]) == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=False)


def to_float01(x: np.ndarray, scale: float) -> torch.Tensor:
    """A fresh float32 tensor x / scale (a writable copy, safe to modify in place)."""
    t = torch.from_numpy(np.array(x, dtype=np.float32, order="C", copy=True))
    return t.div_(scale) if scale != 1.0 else t


def normalize_(x01: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """In-place (x - mean) / std per channel (saves a copy of the large splits); returns x01."""
    m = torch.tensor(tuple(mean), dtype=x01.dtype).view(1, -1, 1, 1)
    s = torch.tensor(tuple(std), dtype=x01.dtype).view(1, -1, 1, 1)
    return x01.sub_(m).div_(s)


def make_splits(info: DatasetInfo, x_train01: torch.Tensor, y_train: np.ndarray | torch.Tensor,
                x_test01: torch.Tensor, y_test: np.ndarray | torch.Tensor) -> DatasetSplits:
    """Normalise [0, 1] float tensors with info's mean/std (in place) and wrap them as DatasetSplits."""
    def split(x: torch.Tensor, y: np.ndarray | torch.Tensor) -> RealData:
        labels = torch.as_tensor(np.asarray(y, dtype=np.int64) if isinstance(y, np.ndarray) else y).long()
        return RealData(normalize_(x, info.mean, info.std), labels, info.num_classes)

    return DatasetSplits(info, split(x_train01, y_train), split(x_test01, y_test))


def channel_stats(x01: torch.Tensor, chunk: int = 4096) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and population std of N x C x H x W images (float64 sums by chunk); std 0 becomes 1."""
    c = int(x01.shape[1])
    total = torch.zeros(c, dtype=torch.float64)
    squares = torch.zeros(c, dtype=torch.float64)
    for part in x01.split(chunk):
        flat = part.double().transpose(0, 1).reshape(c, -1)
        total += flat.sum(dim=1)
        squares += flat.square().sum(dim=1)
    count = max(x01.numel() // max(c, 1), 1)
    mean = total / count
    std = (squares / count - mean.square()).clamp_min(0).sqrt()
    std = torch.where(std > 1e-12, std, torch.ones_like(std))
    return tuple(round(float(v), 6) for v in mean), tuple(round(float(v), 6) for v in std)


LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 weights of R, G, B


def to_grayscale(splits: DatasetSplits) -> DatasetSplits:
    """An RGB dataset as one luminance channel (BT.601), re-normalised with the training split's mean and std;
    one-channel data is returned as is. For mixing colour and grey datasets (e.g. SVHN with MNIST)."""
    info = splits.info
    if info.channels == 1:
        return splits
    if info.channels != 3:
        raise ConfigError(f"{info.name}: grayscale conversion needs 1 or 3 channels, got {info.channels}")
    w = torch.tensor(LUMA).view(1, 3, 1, 1)

    def grey(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([(denormalize(part, info.mean, info.std) * w).sum(1, keepdim=True)
                          for part in x.split(8192)]).clamp_(0, 1)

    xtr, xte = grey(splits.train.images), grey(splits.test.images)
    mean, std = channel_stats(xtr)
    grey_info = DatasetInfo(info.name, 1, info.im_size, info.num_classes, mean, std, info.class_names)
    return make_splits(grey_info, xtr, splits.train.labels, xte, splits.test.labels)
