"""MNIST and Fashion-MNIST from their four original gzip-compressed IDX files."""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from ._common import DATASETS, corrupt_error, locate, make_splits, resize, to_float01
from .base import DatasetInfo, DatasetSplits

IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049
IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
# Pinned normalisation, as in the DatasetCondensation reference code.
MNIST_MEAN, MNIST_STD = (0.1307,), (0.3081,)
FASHION_MEAN, FASHION_STD = (0.2861,), (0.3530,)
MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def read_gzip(name: str, path: Path) -> bytes:
    """The decompressed bytes of a gzip file; a truncated or corrupt file raises a one-line DataError."""
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise corrupt_error(name, path, exc) from exc


def _header(name: str, path: Path, data: bytes, magic: int, ndims: int) -> list[int]:
    """Check the big-endian IDX header (magic, then ndims uint32 sizes) against the data length."""
    head = 4 * (1 + ndims)
    if len(data) < head:
        raise DataError(f"{name}: {path} is only {len(data)} bytes, too short for an IDX header; "
                        f"replace it with the original")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DataError(f"{name}: {path} has magic number {found}, expected {magic} "
                        f"({'images' if magic == IMAGE_MAGIC else 'labels'}); is it the right file?")
    dims = np.frombuffer(data, dtype=">u4", count=ndims, offset=4).astype(np.int64).tolist()
    expected = head + int(np.prod(dims))
    if len(data) != expected:
        raise DataError(f"{name}: {path} header says {' x '.join(map(str, dims))} bytes of data "
                        f"({expected} in all) but the file holds {len(data)}; replace it with the original")
    return dims


def read_idx_images(name: str, path: Path) -> np.ndarray:
    """uint8 images N x 1 x rows x cols from a gzip IDX image file (magic 2051)."""
    data = read_gzip(name, path)
    n, rows, cols = _header(name, path, data, IMAGE_MAGIC, 3)
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, 1, rows, cols)


def read_idx_labels(name: str, path: Path, num_classes: int = 10) -> np.ndarray:
    """int64 labels from a gzip IDX label file (magic 2049), checked to lie in [0, num_classes)."""
    data = read_gzip(name, path)
    _header(name, path, data, LABEL_MAGIC, 1)
    labels = np.frombuffer(data, dtype=np.uint8, offset=8).astype(np.int64)
    if labels.size and labels.max() >= num_classes:
        raise DataError(f"{name}: {path} has label {int(labels.max())}, expected 0..{num_classes - 1}")
    return labels


def _load_pair(name: str, folder: Path, images: str, labels: str) -> tuple[np.ndarray, np.ndarray]:
    """One split's images and labels, checked to be the same count."""
    x = read_idx_images(name, folder / images)
    y = read_idx_labels(name, folder / labels)
    if len(x) != len(y):
        raise DataError(f"{name}: {folder / images} has {len(x)} images but {folder / labels} "
                        f"has {len(y)} labels; replace them with the original files")
    return x, y


def load_idx(info: DatasetInfo, names: tuple[str, ...], root: Path | None, size: int | None) -> DatasetSplits:
    """Read the four IDX files of `info.name` (looked for under names) into normalised splits."""
    folder = locate(names, root, IDX_FILES)
    x_train, y_train = _load_pair(info.name, folder, IDX_FILES[0], IDX_FILES[1])
    x_test, y_test = _load_pair(info.name, folder, IDX_FILES[2], IDX_FILES[3])
    xtr = resize(to_float01(x_train, 255.0), size)
    xte = resize(to_float01(x_test, 255.0), size)
    info = DatasetInfo(info.name, 1, (int(xtr.shape[2]), int(xtr.shape[3])), info.num_classes,
                       info.mean, info.std, info.class_names)
    return make_splits(info, xtr, torch.from_numpy(y_train), xte, torch.from_numpy(y_test))


@DATASETS.register("mnist")
def load_mnist(root: Path | None = None, *, size: int | None = None) -> DatasetSplits:
    """MNIST (60000 train / 10000 test, 28x28), pinned mean 0.1307 std 0.3081; `size` resizes."""
    info = DatasetInfo("mnist", 1, (28, 28), 10, MNIST_MEAN, MNIST_STD, MNIST_CLASSES)
    return load_idx(info, ("mnist",), root, size)


@DATASETS.register("fashion-mnist", "fashion_mnist")
def load_fashion_mnist(root: Path | None = None, *, size: int | None = None) -> DatasetSplits:
    """Fashion-MNIST (60000 / 10000, 28x28), pinned mean 0.2861 std 0.3530; `size` resizes."""
    info = DatasetInfo("fashion-mnist", 1, (28, 28), 10, FASHION_MEAN, FASHION_STD, FASHION_CLASSES)
    return load_idx(info, ("fashion-mnist", "fashion_mnist"), root, size)
