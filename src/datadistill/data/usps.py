"""USPS handwritten digits, 16x16 grey, from the LIBSVM bzip2 files usps.bz2 (train) and usps.t.bz2 (test)."""
from __future__ import annotations

import bz2
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from ._common import (
    DATASETS,
    corrupt_error,
    make_splits,
    missing_files_error,
    resize,
    search_dirs,
    stratified_split,
    to_float01,
)
from .base import DatasetInfo, DatasetSplits

TRAIN_FILE, TEST_FILE = "usps.bz2", "usps.t.bz2"
NUM_FEATURES = 256
TEST_ONLY_FRACTION = 0.3
SPLIT_SEED = 0
# Pinned: per-pixel mean / population std over all 2007 samples of usps.t.bz2 (MD5 8ea070ee...), values mapped
# [-1, 1] -> [0, 1] by (v + 1) / 2, computed once with numpy float64 (0.261355..., 0.308670...) and rounded
# to 4 decimals. The same constants serve the official train/test split and the test-only split.
MEAN = (0.2614,)
STD = (0.3087,)
CLASS_NAMES = tuple(str(d) for d in range(10))


def _parse_line(line: str, lineno: int, path: Path) -> tuple[int, np.ndarray]:
    """(label 1..10, 256 values) from one LIBSVM line `label 1:v1 ... 256:v256`."""
    tokens = line.split()
    if len(tokens) != NUM_FEATURES + 1:
        raise DataError(f"usps: {path} line {lineno} has {len(tokens) - 1} features, expected {NUM_FEATURES}")
    try:
        label = float(tokens[0])
        pairs = np.array(" ".join(tokens[1:]).replace(":", " ").split(), dtype=np.float64).reshape(-1, 2)
    except ValueError as exc:
        raise DataError(f"usps: {path} line {lineno} is not LIBSVM `label index:value ...` text: {exc}") from exc
    index = pairs[:, 0].astype(np.int64)
    if pairs.shape[0] != NUM_FEATURES or not np.array_equal(np.sort(index), np.arange(1, NUM_FEATURES + 1)):
        raise DataError(f"usps: {path} line {lineno} does not hold each feature index 1..{NUM_FEATURES} once")
    if label != int(label) or not 1 <= label <= 10:
        raise DataError(f"usps: {path} line {lineno} has label {tokens[0]}, expected 1..10 (digit + 1)")
    values = np.empty(NUM_FEATURES, dtype=np.float64)
    values[index - 1] = pairs[:, 1]
    return int(label), values


def read_usps(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images N x 1 x 16 x 16 in [0, 1] (float32) and labels 0..9 from one bzip2 LIBSVM file."""
    try:
        with bz2.open(path, "rt", encoding="ascii") as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
    except (OSError, EOFError, UnicodeDecodeError, ValueError) as exc:
        raise corrupt_error("usps", path, exc) from exc
    if not lines:
        raise DataError(f"usps: {path} holds no samples; replace it with the original")
    parsed = [_parse_line(ln, i + 1, path) for i, ln in enumerate(lines)]
    labels = np.array([p[0] for p in parsed], dtype=np.int64) - 1
    values = np.stack([p[1] for p in parsed])
    if values.min() < -1 - 1e-4 or values.max() > 1 + 1e-4:
        raise DataError(f"usps: {path} has pixel values in [{values.min():.4g}, {values.max():.4g}], "
                        f"expected [-1, 1]")
    images = np.clip((values + 1.0) / 2.0, 0.0, 1.0).astype(np.float32).reshape(-1, 1, 16, 16)
    return images, labels


def _find(root: Path | None, split_test_only: bool) -> tuple[Path | None, Path]:
    """(train file or None, test file); None means: split the test file."""
    dirs = search_dirs(("usps",), root)
    for d in dirs:
        if (d / TEST_FILE).is_file():
            train = d / TRAIN_FILE
            return (None if split_test_only or not train.is_file() else train), d / TEST_FILE
    raise missing_files_error("usps", (TRAIN_FILE, TEST_FILE), dirs, f"{TEST_FILE} alone also works")


@DATASETS.register("usps")
def load_usps(root: Path | None = None, *, size: int | None = None,
              split_test_only: bool = False) -> DatasetSplits:
    """USPS (7291 train / 2007 test, 16x16), labels 1..10 -> 0..9, pixels (v + 1) / 2; `size` resizes.

    When usps.bz2 is absent but usps.t.bz2 is present (or split_test_only=True), the 2007 test samples are split
    into train / test: fixed and stratified, a numpy Generator(PCG64(0)) permutation, the first
    round-half-up(30%) of each class go to test (1405 train / 602 test); it never changes.
    """
    train_path, test_path = _find(root, split_test_only)
    x_test, y_test = read_usps(test_path)
    if train_path is None:
        tr, te = stratified_split(y_test, TEST_ONLY_FRACTION, SPLIT_SEED)
        x_train, y_train, x_test, y_test = x_test[tr], y_test[tr], x_test[te], y_test[te]
    else:
        x_train, y_train = read_usps(train_path)
    xtr, xte = resize(to_float01(x_train, 1.0), size), resize(to_float01(x_test, 1.0), size)
    info = DatasetInfo("usps", 1, (int(xtr.shape[2]), int(xtr.shape[3])), 10, MEAN, STD, CLASS_NAMES)
    return make_splits(info, xtr, torch.from_numpy(y_train), xte, torch.from_numpy(y_test))
