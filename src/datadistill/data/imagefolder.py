"""Any folder of images with one sub-folder per class (optionally split into train/ and test/)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError, DataError
from ._common import DATASETS, channel_stats, check_size, make_splits, stratified_split, to_float01
from .base import DatasetInfo, DatasetSplits

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})


def _class_dirs(folder: Path) -> list[Path]:
    """Visible sub-folders of `folder`, sorted by name."""
    return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)


def _image_files(folder: Path) -> list[Path]:
    """Image files directly inside `folder` (by suffix), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _read_image(path: Path, size: int, grayscale: bool) -> np.ndarray:
    """One image as uint8 H x W x C (C = 1 or 3), converted to L or RGB and resized to size x size."""
    from PIL import Image, UnidentifiedImageError  # Pillow ships with matplotlib

    try:
        with Image.open(path) as img:
            img = img.convert("L" if grayscale else "RGB")
            if img.size != (size, size):
                img = img.resize((size, size), Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"imagefolder: cannot read image {path}: {' '.join(str(exc).split())}") from exc
    return arr[:, :, None] if arr.ndim == 2 else arr


def _read_classes(folder: Path, classes: list[str], size: int, grayscale: bool,
                  require_all: bool) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images N x C x size x size and labels for the class sub-folders of `folder`."""
    images, labels = [], []
    for label, name in enumerate(classes):
        files = _image_files(folder / name) if (folder / name).is_dir() else []
        if require_all and not files:
            raise DataError(f"imagefolder: class folder {folder / name} holds no images "
                            f"({', '.join(sorted(IMAGE_SUFFIXES))})")
        images += [_read_image(p, size, grayscale) for p in files]
        labels += [label] * len(files)
    if not images:
        raise DataError(f"imagefolder: no images in the class folders of {folder}")
    return np.stack(images).transpose(0, 3, 1, 2), np.asarray(labels, dtype=np.int64)


def _read_tree(root: Path, size: int, grayscale: bool, test_fraction: float,
               seed: int) -> tuple[list[str], tuple[np.ndarray, ...]]:
    """Class names and (x_train, y_train, x_test, y_test) as uint8 / int64 arrays."""
    split_dirs = (root / "train").is_dir() and (root / "test").is_dir()
    base = root / "train" if split_dirs else root
    classes = [p.name for p in _class_dirs(base)]
    if not classes:
        raise DataError(f"imagefolder: {base} has no class sub-folders; expected {base}/<class>/<image files>")
    x, y = _read_classes(base, classes, size, grayscale, require_all=True)
    if split_dirs:
        extra = sorted({p.name for p in _class_dirs(root / "test")} - set(classes))
        if extra:
            raise DataError(f"imagefolder: {root / 'test'} has classes not in train/: {', '.join(extra)}")
        return classes, (x, y, *_read_classes(root / "test", classes, size, grayscale, require_all=False))
    train, test = stratified_split(y, test_fraction, seed)
    return classes, (x[train], y[train], x[test], y[test])


@DATASETS.register("imagefolder")
def load_imagefolder(root: Path | None = None, *, size: int = 32, grayscale: bool = False,
                     test_fraction: float = 0.2, seed: int = 0) -> DatasetSplits:
    """root/<class>/<images> (or root/train/<class>, root/test/<class>), resized to size x size.

    Without train/ and test/, each class is split with stratified_split(test_fraction, seed). Unlike the named
    datasets, mean/std are computed from the train split here and stored in the DatasetInfo.
    """
    if root is None:
        raise ConfigError("imagefolder needs root: the folder holding one sub-folder per class")
    check_size(size)
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"imagefolder: {root} is not a folder; expected {root}/<class>/<image files>")
    classes, (x_train, y_train, x_test, y_test) = _read_tree(root, size, grayscale, test_fraction, seed)
    xtr, xte = to_float01(x_train, 255.0), to_float01(x_test, 255.0)
    mean, std = channel_stats(xtr)
    info = DatasetInfo("imagefolder", int(xtr.shape[1]), (size, size), len(classes), mean, std,
                       tuple(classes))
    return make_splits(info, xtr, torch.from_numpy(y_train), xte, torch.from_numpy(y_test))
