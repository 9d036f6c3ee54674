"""CIFAR-10 and CIFAR-100 from the original python pickle batches, read with a restricted unpickler."""
from __future__ import annotations

import pickle
import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from ._common import DATASETS, corrupt_error, locate, make_splits, to_float01
from .base import DatasetInfo, DatasetSplits

try:  # numpy >= 2 moved the pickle helpers to numpy._core; files written by numpy 1 name numpy.core
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct

# The only globals a CIFAR batch needs (dicts, lists, str/bytes and uint8 numpy arrays); anything else,
# e.g. os.system, is refused, so a tampered file cannot run code.
_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
CIFAR100_MEAN, CIFAR100_STD = (0.5071, 0.4866, 0.4409), (0.2673, 0.2564, 0.2762)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_DIR, CIFAR100_DIR = "cifar-10-batches-py", "cifar-100-python"
CIFAR10_TRAIN = tuple(f"{CIFAR10_DIR}/data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST = (f"{CIFAR10_DIR}/test_batch",)
CIFAR100_TRAIN, CIFAR100_TEST = (f"{CIFAR100_DIR}/train",), (f"{CIFAR100_DIR}/test",)
TRAIN_COUNT, TEST_COUNT = 50000, 10000


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that resolves only the numpy array globals above and refuses everything else."""

    def find_class(self, module: str, name: str) -> Any:
        """Allow-listed numpy helpers only; DataError for any other global."""
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise DataError(f"refusing to unpickle global {module}.{name}: CIFAR batches hold only "
                            f"numpy arrays, lists and dicts; the file is not an original batch") from None


def safe_unpickle(name: str, path: Path) -> Any:
    """Unpickle `path` with RestrictedUnpickler (latin1 for the Python 2 strings of the originals)."""
    try:
        with path.open("rb") as f:
            return RestrictedUnpickler(f, encoding="latin1").load()
    except DataError as exc:
        raise DataError(f"{name}: {path}: {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            MemoryError, OverflowError, UnicodeDecodeError, struct.error) as exc:
        raise corrupt_error(name, path, exc) from exc


def _str_keys(d: dict) -> dict:
    """Keys as str whichever way the batch was pickled (bytes under encoding='bytes')."""
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in d.items()}


def read_batch(name: str, path: Path, label_key: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images N x 3 x 32 x 32 and int64 labels from one pickle batch, validated."""
    batch = safe_unpickle(name, path)
    if not isinstance(batch, dict):
        raise DataError(f"{name}: {path} holds a {type(batch).__name__}, expected a dict batch")
    batch = _str_keys(batch)
    if "data" not in batch or label_key not in batch:
        raise DataError(f"{name}: {path} lacks 'data' or '{label_key}' (keys: {', '.join(map(str, batch))})")
    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3072 or data.dtype != np.uint8:
        shape = getattr(data, "shape", type(data).__name__)
        raise DataError(f"{name}: {path} 'data' must be a uint8 N x 3072 array, got {shape}")
    labels = np.asarray(batch[label_key])
    if labels.shape != (data.shape[0],) or labels.dtype.kind not in "iu":
        raise DataError(f"{name}: {path} has {data.shape[0]} images but '{label_key}' of shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataError(f"{name}: {path} has labels in [{labels.min()}, {labels.max()}], "
                        f"expected 0..{num_classes - 1}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)  # rows are R(1024) G(1024) B(1024)


def _read_split(name: str, folder: Path, files: tuple[str, ...], label_key: str, num_classes: int,
                expected: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate batches into a [0, 1] float tensor and labels, checking the total count."""
    parts = [read_batch(name, folder / f, label_key, num_classes) for f in files]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    if expected is not None and len(x) != expected:
        raise DataError(f"{name}: {', '.join(files)} hold {len(x)} images, expected {expected}; replace them "
                        f"with the original files (or pass check_counts=False for a subset)")
    return to_float01(x, 255.0), torch.from_numpy(y)


def _class_names(name: str, path: Path, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Class names from the meta pickle when present and well-formed, else `default`."""
    if not path.is_file():
        return default
    meta = safe_unpickle(name, path)
    names = _str_keys(meta).get(key) if isinstance(meta, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, (str, bytes)) for n in names):
        return default
    return tuple(n.decode("latin1") if isinstance(n, bytes) else n for n in names)


@dataclass(frozen=True)
class _Layout:
    """Where a CIFAR variant keeps its batches, labels and class names."""

    train: tuple[str, ...]
    test: tuple[str, ...]
    meta: str
    label_key: str
    names_key: str
    default_names: tuple[str, ...]
    folders: tuple[str, ...]


CIFAR10_LAYOUT = _Layout(CIFAR10_TRAIN, CIFAR10_TEST, f"{CIFAR10_DIR}/batches.meta", "labels", "label_names",
                         CIFAR10_CLASSES, ("cifar10", "cifar-10"))
CIFAR100_LAYOUT = _Layout(CIFAR100_TRAIN, CIFAR100_TEST, f"{CIFAR100_DIR}/meta", "fine_labels",
                          "fine_label_names", (), ("cifar100", "cifar-100"))


def _load(info: DatasetInfo, root: Path | None, layout: _Layout, check_counts: bool) -> DatasetSplits:
    """Shared body of the two CIFAR loaders."""
    folder = locate(layout.folders, root, layout.train + layout.test)
    names = _class_names(info.name, folder / layout.meta, layout.names_key, layout.default_names)
    info = replace(info, class_names=names if len(names) == info.num_classes else layout.default_names)
    counts = (TRAIN_COUNT, TEST_COUNT) if check_counts else (None, None)
    xtr, ytr = _read_split(info.name, folder, layout.train, layout.label_key, info.num_classes, counts[0])
    xte, yte = _read_split(info.name, folder, layout.test, layout.label_key, info.num_classes, counts[1])
    return make_splits(info, xtr, ytr, xte, yte)


@DATASETS.register("cifar10", "cifar-10")
def load_cifar10(root: Path | None = None, *, check_counts: bool = True) -> DatasetSplits:
    """CIFAR-10 (50000 / 10000, 3 x 32 x 32) from cifar-10-batches-py/, pinned DC-code normalisation."""
    info = DatasetInfo("cifar10", 3, (32, 32), 10, CIFAR10_MEAN, CIFAR10_STD)
    return _load(info, root, CIFAR10_LAYOUT, check_counts)


@DATASETS.register("cifar100", "cifar-100")
def load_cifar100(root: Path | None = None, *, check_counts: bool = True) -> DatasetSplits:
    """CIFAR-100 (50000 / 10000, 3 x 32 x 32, 100 fine labels) from cifar-100-python/, pinned normalisation."""
    info = DatasetInfo("cifar100", 3, (32, 32), 100, CIFAR100_MEAN, CIFAR100_STD)
    return _load(info, root, CIFAR100_LAYOUT, check_counts)
