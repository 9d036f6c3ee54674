"""SVHN (cropped digits, format 2) from train_32x32.mat and test_32x32.mat."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from ._common import DATASETS, check_size, corrupt_error, locate, make_splits, resize, to_float01
from .base import DatasetInfo, DatasetSplits

SVHN_FILES = ("train_32x32.mat", "test_32x32.mat")
# Pinned normalisation, as in the DatasetCondensation reference code.
SVHN_MEAN, SVHN_STD = (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970)
CLASS_NAMES = tuple(str(d) for d in range(10))


def read_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images N x 3 x 32 x 32 and labels 0..9 (label 10 is digit 0) from one SVHN .mat file."""
    from scipy.io import loadmat  # deferred: scipy.io is only needed here
    from scipy.io.matlab import MatReadError

    try:
        mat = loadmat(str(path), variable_names=("X", "y"))
    except (MatReadError, ValueError, OSError, EOFError, TypeError) as exc:
        raise corrupt_error("svhn", path, exc) from exc
    if "X" not in mat or "y" not in mat:
        raise DataError(f"svhn: {path} lacks the variables X and y; replace it with the original")
    x, y = mat["X"], np.asarray(mat["y"]).reshape(-1)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.dtype != np.uint8:
        raise DataError(f"svhn: {path} X must be uint8 32 x 32 x 3 x N, got {x.dtype} {x.shape}")
    if len(y) != x.shape[3]:
        raise DataError(f"svhn: {path} has {x.shape[3]} images but {len(y)} labels")
    if y.size and (y.min() < 1 or y.max() > 10 or not np.array_equal(y, np.round(y))):
        raise DataError(f"svhn: {path} has labels in [{y.min()}, {y.max()}], expected 1..10 (10 = digit 0)")
    return x.transpose(3, 2, 0, 1), (y.astype(np.int64) % 10)


@DATASETS.register("svhn")
def load_svhn(root: Path | None = None, *, size: int | None = None) -> DatasetSplits:
    """SVHN (73257 train / 26032 test, 3 x 32 x 32, label 10 -> 0), pinned DC-code normalisation; `size`
    resizes (e.g. 28 to sit beside MNIST; see data.to_grayscale for one channel)."""
    check_size(size)
    folder = locate(("svhn",), root, SVHN_FILES)
    x_train, y_train = read_svhn_mat(folder / SVHN_FILES[0])
    x_test, y_test = read_svhn_mat(folder / SVHN_FILES[1])
    side = size or 32
    info = DatasetInfo("svhn", 3, (side, side), 10, SVHN_MEAN, SVHN_STD, CLASS_NAMES)
    return make_splits(info, resize(to_float01(x_train, 255.0), size), torch.from_numpy(y_train),
                       resize(to_float01(x_test, 255.0), size), torch.from_numpy(y_test))
