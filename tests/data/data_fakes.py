"""Writers of tiny fake dataset files (IDX, CIFAR pickles) for the data tests."""
from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def require_files(folder: Path, *names: str) -> None:
    """Skip unless every file exists in folder."""
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        pytest.skip(f"real files {', '.join(missing)} not found in {folder}")


def idx_bytes(magic: int, array: np.ndarray, dims: tuple[int, ...] | None = None) -> bytes:
    """An uncompressed IDX file: big-endian magic, dims (the array's shape unless given), uint8 data."""
    dims = array.shape if dims is None else dims
    return struct.pack(f">{1 + len(dims)}I", magic, *dims) + array.astype(np.uint8).tobytes()


def write_idx_set(folder: Path, n_train: int = 30, n_test: int = 10, seed: int = 0) -> Path:
    """A tiny valid MNIST-layout folder (4 gzip IDX files, 28x28 images, labels cycling 0..9)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for (img, lab), n in zip(((IDX_NAMES[0], IDX_NAMES[1]), (IDX_NAMES[2], IDX_NAMES[3])), (n_train, n_test)):
        (folder / img).write_bytes(gzip.compress(idx_bytes(2051, rng.integers(0, 256, (n, 28, 28)))))
        (folder / lab).write_bytes(gzip.compress(idx_bytes(2049, np.arange(n) % 10)))
    return folder


def _op_str(s: bytes) -> bytes:
    """A Python 2 str pickle opcode (SHORT_BINSTRING / BINSTRING), as in the original CIFAR files."""
    return (b"U" + bytes([len(s)]) + s) if len(s) < 256 else (b"T" + struct.pack("<I", len(s)) + s)


def py2_cifar_pickle(data: np.ndarray, labels: list[int], label_key: bytes = b"labels") -> bytes:
    """A protocol-2 pickle laid out like the Python 2 originals: a dict of str keys, a uint8 ndarray, a list."""
    n, d = data.shape
    dtype = (b"cnumpy\ndtype\n" + _op_str(b"u1") + b"K\x00K\x01\x87R(K\x03" + _op_str(b"|")
             + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
    array = (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + _op_str(b"b") + b"\x87R"
             + b"(K\x01J" + struct.pack("<i", n) + b"J" + struct.pack("<i", d) + b"\x86"
             + dtype + b"\x89" + _op_str(data.astype(np.uint8).tobytes()) + b"tb")
    items = b"".join(b"K" + bytes([v]) for v in labels)
    return (b"\x80\x02}(" + _op_str(b"data") + array + _op_str(label_key) + b"](" + items + b"eu.")


def py3_cifar_pickle(data: np.ndarray, labels: list[int], label_key: str = "labels") -> bytes:
    """The same batch pickled by this numpy (protocol 4, str keys)."""
    return pickle.dumps({"batch_label": "fake", "data": data.astype(np.uint8), label_key: list(labels)},
                        protocol=4)
