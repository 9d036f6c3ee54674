"""scikit-learn's bundled 8x8 UCI handwritten digits (1797 images; no files, no download)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

from ._common import DATASETS, make_splits, resize, stratified_split, to_float01
from .base import DatasetInfo, DatasetSplits

TEST_FRACTION = 0.2
SPLIT_SEED = 0
# Pinned: per-pixel mean / population std of the train split below (1438 images, values / 16), computed once
# with numpy float64 and rounded to 4 decimals (0.30491..., 0.37587...). Kept when `size` resizes the images.
MEAN = (0.3049,)
STD = (0.3759,)
CLASS_NAMES = tuple(str(d) for d in range(10))


def _bundled_file() -> Path | None:
    """scikit-learn's digits.csv.gz, found without importing sklearn (whose import takes ~1.5 s here)."""
    spec = importlib.util.find_spec("sklearn")  # a top-level spec: sklearn's code does not run
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    return path if path.is_file() else None


def _read_bundled() -> tuple[np.ndarray, np.ndarray]:
    """(images N x 8 x 8, targets N) exactly as sklearn.datasets.load_digits gives them."""
    path = _bundled_file()
    if path is None:  # another layout of scikit-learn: its own loader knows where the file is
        from sklearn.datasets import load_digits as sk_load_digits

        bunch = sk_load_digits()
        return bunch.images, bunch.target
    data = np.loadtxt(path, delimiter=",")  # 1797 rows: 64 pixel values (0..16), then the digit
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(int)


@DATASETS.register("digits")
def load_digits(root: Path | None = None, *, size: int | None = None) -> DatasetSplits:
    """UCI digits as sklearn.datasets.load_digits gives them (read from its bundled file), values 0..16 -> [0, 1];
    root is ignored.

    Split: fixed and stratified; a numpy Generator(PCG64(0)) permutation of all 1797 indices, and the first
    round-half-up(20%) of each class in that order go to test (359 test, 1438 train); it never changes.
    `size` resizes to size x size (bilinear, antialias off), e.g. 28 for MNIST <-> digits transfer.
    """
    images, target = _read_bundled()
    x = to_float01(images.astype(np.float32)[:, None], 16.0)
    y = np.asarray(target, dtype=np.int64)
    train, test = stratified_split(y, TEST_FRACTION, SPLIT_SEED)
    x = resize(x, size)
    info = DatasetInfo("digits", 1, (int(x.shape[2]), int(x.shape[3])), 10, MEAN, STD, CLASS_NAMES)
    return make_splits(info, x[torch.from_numpy(train)], y[train], x[torch.from_numpy(test)], y[test])
