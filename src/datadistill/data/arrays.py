"""Datasets from in-memory arrays (`from_arrays`) and from a `.npz` file (`npz`)."""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..errors import ConfigError, DataError
from ._common import DATASETS, channel_stats, corrupt_error, locate, make_splits, to_float01
from .base import DatasetInfo, DatasetSplits

ArrayLike = np.ndarray | torch.Tensor
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _as_numpy(a: ArrayLike, what: str) -> np.ndarray:
    """A numpy view of a numpy array or (detached, CPU) torch tensor."""
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    if isinstance(a, np.ndarray):
        return a
    raise DataError(f"{what} must be a numpy array or torch tensor, got {type(a).__name__}")


def _to_nchw(x: np.ndarray, what: str) -> np.ndarray:
    """N x H x W, N x H x W x C (last dim 1 or 3 and 2nd dim not) or N x C x H x W -> N x C x H x W."""
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4:
        if x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
            return x.transpose(0, 3, 1, 2)
        return x
    raise DataError(f"{what} must be N x H x W, N x H x W x C or N x C x H x W, got shape {x.shape}")


def _images01(x: ArrayLike, what: str) -> torch.Tensor:
    """Images as float32 N x C x H x W in [0, 1]: uint8 (or other ints in 0..255) / 255, floats as given."""
    a = _to_nchw(_as_numpy(x, what), what)
    if a.dtype.kind in "iu":
        if a.size and (a.min() < 0 or a.max() > 255):
            raise DataError(f"{what}: integer images must lie in 0..255, found [{a.min()}, {a.max()}]")
        return to_float01(a, 255.0)
    if a.dtype.kind == "f":
        if a.size and not np.isfinite(a).all():
            raise DataError(f"{what}: images contain NaN or infinite values")
        if a.size and (a.min() < -1e-3 or a.max() > 1 + 1e-3):
            raise DataError(f"{what}: float images must lie in [0, 1] (pass raw uint8 or un-normalised "
                            f"floats), found [{a.min():.4g}, {a.max():.4g}]")
        return to_float01(a, 1.0)
    raise DataError(f"{what}: images must be uint8 or float, got dtype {a.dtype}")


def _labels(y: ArrayLike, n: int, what: str) -> np.ndarray:
    """Labels as a 1-D int64 array of length n (integral floats accepted)."""
    a = _as_numpy(y, what)
    if a.ndim == 2 and a.shape[1] == 1:  # column vectors, as MATLAB-style files store them
        a = a[:, 0]
    if a.ndim != 1 or len(a) != n:
        raise DataError(f"{what} must be a vector of {n} labels (one per image), got shape {a.shape}")
    if a.dtype.kind == "f" and not np.array_equal(a, np.round(a)):
        raise DataError(f"{what}: labels must be integers")
    if a.dtype.kind not in "iuf":
        raise DataError(f"{what}: labels must be integers, got dtype {a.dtype}")
    return a.astype(np.int64)


def _resolve_classes(y_train: np.ndarray, y_test: np.ndarray, num_classes: int | None) -> int:
    """num_classes, by default max label + 1; raise DataError when a label is out of range."""
    top = int(max(y_train.max(initial=-1), y_test.max(initial=-1)))
    k = top + 1 if num_classes is None else int(num_classes)
    if k < 1:
        raise DataError("no labels given: cannot infer num_classes")
    for y, what in ((y_train, "y_train"), (y_test, "y_test")):
        if y.size and (y.min() < 0 or y.max() >= k):
            raise DataError(f"{what} has labels in [{int(y.min())}, {int(y.max())}], expected [0, {k - 1}]"
                            f" for num_classes={k}")
    return k


def _pair(v: Sequence[float] | float, c: int, what: str) -> tuple[float, ...]:
    """A per-channel tuple of length c from a scalar or a sequence."""
    t = tuple(float(x) for x in np.atleast_1d(np.asarray(v, dtype=np.float64)))
    if len(t) == 1 and c > 1:
        t = t * c
    if len(t) != c:
        raise ConfigError(f"{what} must have one value per channel ({c}), got {len(t)}")
    return t


def from_arrays(x_train: ArrayLike, y_train: ArrayLike, x_test: ArrayLike, y_test: ArrayLike, *,
                name: str = "arrays", num_classes: int | None = None,
                mean: Sequence[float] | float | None = None, std: Sequence[float] | float | None = None,
                class_names: Sequence[str] = ()) -> DatasetSplits:
    """DatasetSplits from raw arrays (numpy or torch); mean/std default to the train split's per-channel stats."""
    xtr, xte = _images01(x_train, "x_train"), _images01(x_test, "x_test")
    if xtr.shape[1:] != xte.shape[1:]:
        raise DataError(f"x_train images are {tuple(xtr.shape[1:])} but x_test images are {tuple(xte.shape[1:])}")
    ytr, yte = _labels(y_train, len(xtr), "y_train"), _labels(y_test, len(xte), "y_test")
    k = _resolve_classes(ytr, yte, num_classes)
    if class_names and len(class_names) != k:
        raise ConfigError(f"{len(class_names)} class names given for {k} classes")
    c = xtr.shape[1]
    if (mean is None) != (std is None):
        raise ConfigError("give both mean and std, or neither (then both come from the train split)")
    if mean is None:
        if len(xtr) == 0:
            raise DataError("x_train is empty: cannot compute mean/std; pass them explicitly")
        mean, std = channel_stats(xtr)
    m, s = _pair(mean, c, "mean"), _pair(std, c, "std")
    if min(s) <= 0:
        raise ConfigError(f"std must be positive, got {s}")
    info = DatasetInfo(name, c, (int(xtr.shape[2]), int(xtr.shape[3])), k, m, s, tuple(class_names))
    return make_splits(info, xtr, ytr, xte, yte)


def _npz_path(root: Path | None) -> Path:
    """root itself when it is a file, else data.npz in root/npz/ or root/."""
    if root is not None and Path(root).expanduser().is_file():
        return Path(root).expanduser()
    return locate(("npz",), root, ("data.npz",)) / "data.npz"


@DATASETS.register("npz")
def load_npz(root: Path | None = None, *, name: str = "npz", num_classes: int | None = None,
             mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
             class_names: Sequence[str] = ()) -> DatasetSplits:
    """A .npz file (root = the file, or root/data.npz) with x_train, y_train, x_test, y_test; via from_arrays."""
    path = _npz_path(root)
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in NPZ_KEYS if k not in f.files]
            if missing:
                raise DataError(f"npz: {path} lacks key(s) {', '.join(missing)}; it needs "
                                f"{', '.join(NPZ_KEYS)} (found: {', '.join(f.files) or 'none'})")
            arrays = {k: f[k] for k in NPZ_KEYS}
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataError(f"npz: {path} holds object arrays, which would need pickle and are refused; "
                            f"save plain numeric arrays") from exc
        raise corrupt_error("npz", path, exc) from exc
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise corrupt_error("npz", path, exc) from exc
    return from_arrays(arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"], name=name,
                       num_classes=num_classes, mean=mean, std=std, class_names=class_names)
