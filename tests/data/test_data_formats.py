"""Loaders on tiny fake files: CIFAR pickles (and a malicious one), SVHN .mat, USPS LIBSVM, image folders, npz."""
from __future__ import annotations

import bz2
import io
import os
import pickle

import numpy as np
import pytest
import torch
from data_fakes import py2_cifar_pickle, py3_cifar_pickle

from datadistill.data import denormalize, from_arrays, load_dataset, to_grayscale
from datadistill.data.cifar import RestrictedUnpickler
from datadistill.errors import ConfigError, DataError


def raw_pixels(split, info) -> np.ndarray:
    """Back to 0..255 integers, to compare with what was written."""
    return np.rint(denormalize(split.images, info.mean, info.std).numpy() * 255).astype(np.int64)


# ---- CIFAR -----------------------------------------------------------------------------------------------

def write_cifar10(folder, n_per_batch: int = 4, writer=py2_cifar_pickle) -> np.ndarray:
    """Five train batches and a test batch; returns the first train batch's data."""
    base = folder / "cifar10" / "cifar-10-batches-py"
    base.mkdir(parents=True)
    rng = np.random.default_rng(0)
    first = None
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n_per_batch, 3072))
        (base / name).write_bytes(writer(data, [i % 10 for i in range(n_per_batch)]))
        first = data if first is None else first
    return first


@pytest.mark.parametrize("writer", [py2_cifar_pickle, py3_cifar_pickle], ids=["python2-original", "numpy2"])
def test_cifar10_fake_batches(tmp_path, writer):
    first = write_cifar10(tmp_path, writer=writer)
    with pytest.raises(DataError) as err:  # the real counts are checked by default
        load_dataset("cifar10", tmp_path)
    assert "expected 50000" in str(err.value) and "\n" not in str(err.value)
    splits = load_dataset("cifar10", tmp_path, check_counts=False)
    assert splits.train.images.shape == (20, 3, 32, 32) and len(splits.test) == 4
    assert splits.info.mean == (0.4914, 0.4822, 0.4465) and splits.info.class_names[0] == "airplane"
    assert np.array_equal(raw_pixels(splits.train, splits.info)[:4], first.reshape(4, 3, 32, 32))
    assert splits.train.labels[:4].tolist() == [0, 1, 2, 3]


def test_cifar100_fake_batches(tmp_path):
    base = tmp_path / "cifar-100-python"
    base.mkdir()
    data = np.arange(6 * 3072).reshape(6, 3072) % 256
    for name in ("train", "test"):
        (base / name).write_bytes(py2_cifar_pickle(data, [0, 99, 5, 7, 50, 1], label_key=b"fine_labels"))
    splits = load_dataset("cifar100", tmp_path, check_counts=False)
    assert splits.info.num_classes == 100 and splits.info.std == (0.2673, 0.2564, 0.2762)
    assert splits.train.labels.tolist() == [0, 99, 5, 7, 50, 1]


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned-by-pickle",))


def test_malicious_pickle_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_cifar10(tmp_path)
    batch = tmp_path / "cifar10" / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(pickle.dumps({"data": _Evil(), "labels": [0]}))
    with pytest.raises(DataError) as err:
        load_dataset("cifar10", tmp_path, check_counts=False)
    msg = str(err.value)
    assert "refusing to unpickle" in msg and "system" in msg and "\n" not in msg
    assert not (tmp_path / "pwned-by-pickle").exists()


@pytest.mark.parametrize("payload", [pickle.dumps(eval), pickle.dumps(io.BytesIO), pickle.dumps(b"x", protocol=2)])
def test_restricted_unpickler_refuses_other_globals(payload):
    with pytest.raises(DataError):
        RestrictedUnpickler(io.BytesIO(payload), encoding="latin1").load()


def test_truncated_cifar_batch(tmp_path):
    write_cifar10(tmp_path)
    batch = tmp_path / "cifar10" / "cifar-10-batches-py" / "test_batch"
    batch.write_bytes(batch.read_bytes()[:500])
    with pytest.raises(DataError) as err:
        load_dataset("cifar10", tmp_path, check_counts=False)
    assert "truncated or corrupt" in str(err.value) and "\n" not in str(err.value)


# ---- SVHN ------------------------------------------------------------------------------------------------

def test_svhn_fake_mat(tmp_path):
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    (tmp_path / "svhn").mkdir()
    x = rng.integers(0, 256, (32, 32, 3, 5)).astype(np.uint8)
    y = np.array([[10], [1], [2], [10], [9]], dtype=np.uint8)
    for name in ("train_32x32.mat", "test_32x32.mat"):
        savemat(tmp_path / "svhn" / name, {"X": x, "y": y})
    splits = load_dataset("svhn", tmp_path)
    assert splits.train.labels.tolist() == [0, 1, 2, 0, 9]
    assert splits.info.channels == 3 and splits.info.mean == (0.4377, 0.4438, 0.4728)
    raw = raw_pixels(splits.train, splits.info)
    assert np.array_equal(raw[2, 1], x[:, :, 1, 2])  # image 2, green channel, rows x columns


def test_svhn_resized_and_grey(tmp_path):
    from scipy.io import savemat

    rng = np.random.default_rng(1)
    (tmp_path / "svhn").mkdir()
    x = rng.integers(0, 256, (32, 32, 3, 4)).astype(np.uint8)
    for name in ("train_32x32.mat", "test_32x32.mat"):
        savemat(tmp_path / "svhn" / name, {"X": x, "y": np.array([[1], [2], [3], [4]], dtype=np.uint8)})
    small = load_dataset("svhn", tmp_path, size=16)
    assert small.train.images.shape == (4, 3, 16, 16) and small.info.im_size == (16, 16)
    grey = to_grayscale(load_dataset("svhn", tmp_path))
    assert grey.info.channels == 1 and grey.train.images.shape == (4, 1, 32, 32)
    luma = (x.astype(np.float64) / 255 * np.array([0.299, 0.587, 0.114]).reshape(1, 1, 3, 1)).sum(2)
    luma = luma.transpose(2, 0, 1)  # H x W x N -> N x H x W
    back = denormalize(grey.train.images, grey.info.mean, grey.info.std)[:, 0].double().numpy()
    assert np.allclose(back, luma, atol=1e-5)
    assert abs(float(grey.train.images.mean())) < 1e-4  # re-normalised with its own statistics
    assert to_grayscale(grey) is grey


def test_svhn_bad_labels(tmp_path):
    from scipy.io import savemat

    (tmp_path / "svhn").mkdir()
    for name in ("train_32x32.mat", "test_32x32.mat"):
        savemat(tmp_path / "svhn" / name, {"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.array([[0], [11]])})
    with pytest.raises(DataError) as err:
        load_dataset("svhn", tmp_path)
    assert "expected 1..10" in str(err.value)


# ---- USPS (official two-file layout) ---------------------------------------------------------------------

def libsvm_lines(labels: list[int], seed: int) -> str:
    rng = np.random.default_rng(seed)
    rows = []
    for label in labels:
        values = rng.uniform(-1, 1, 256)
        rows.append(f"{label} " + " ".join(f"{i + 1}:{v:.6f}" for i, v in enumerate(values)))
    return "\n".join(rows) + "\n"


def test_usps_two_files_and_validation(tmp_path):
    folder = tmp_path / "usps"
    folder.mkdir()
    (folder / "usps.bz2").write_bytes(bz2.compress(libsvm_lines(list(range(1, 11)) * 2, 0).encode()))
    (folder / "usps.t.bz2").write_bytes(bz2.compress(libsvm_lines(list(range(1, 11)), 1).encode()))
    splits = load_dataset("usps", tmp_path)
    assert (len(splits.train), len(splits.test)) == (20, 10)
    assert splits.test.labels.tolist() == list(range(10))
    forced = load_dataset("usps", tmp_path, split_test_only=True)
    assert len(forced.train) + len(forced.test) == 10
    (folder / "usps.t.bz2").write_bytes(bz2.compress(b"11 " + libsvm_lines([1], 2)[2:].encode()))
    with pytest.raises(DataError) as err:
        load_dataset("usps", tmp_path)
    assert "label 11" in str(err.value) and "\n" not in str(err.value)
    (folder / "usps.t.bz2").write_bytes(bz2.compress(b"3 1:0.5 2:0.25\n"))
    with pytest.raises(DataError) as err:
        load_dataset("usps", tmp_path)
    assert "2 features, expected 256" in str(err.value)


# ---- imagefolder -----------------------------------------------------------------------------------------

def write_png(path, colour, size=(6, 5)) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


def test_imagefolder_split_and_stats(tmp_path):
    for i in range(5):
        write_png(tmp_path / "red" / f"{i}.png", (200 + i, 0, 0))
        write_png(tmp_path / "blue" / f"{i}.png", (0, 0, 255))
    (tmp_path / "blue" / "notes.txt").write_text("not an image")
    splits = load_dataset("imagefolder", tmp_path, size=4)
    assert splits.info.class_names == ("blue", "red") and splits.info.im_size == (4, 4)
    assert (len(splits.train), len(splits.test)) == (8, 2) and splits.test.class_counts() == [1, 1]
    assert torch.allclose(splits.train.images.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert splits.info.mean[1] == 0.0 and splits.info.std[1] == 1.0  # a constant channel keeps std 1
    grey = load_dataset("imagefolder", tmp_path, size=4, grayscale=True, test_fraction=0.4, seed=1)
    assert grey.info.channels == 1 and grey.test.class_counts() == [2, 2]


def test_imagefolder_train_test_subfolders(tmp_path):
    for split, n in (("train", 3), ("test", 1)):
        for c, colour in (("a", (10, 20, 30)), ("b", (40, 50, 60))):
            for i in range(n):
                write_png(tmp_path / split / c / f"{i}.png", colour)
    splits = load_dataset("imagefolder", tmp_path, size=8)
    assert splits.train.class_counts() == [3, 3] and splits.test.class_counts() == [1, 1]
    assert raw_pixels(splits.test, splits.info)[1, :, 0, 0].tolist() == [40, 50, 60]


def test_imagefolder_errors(tmp_path):
    with pytest.raises(DataError) as err:
        load_dataset("imagefolder", tmp_path)
    assert "no class sub-folders" in str(err.value) and "\n" not in str(err.value)
    (tmp_path / "cats").mkdir()
    with pytest.raises(DataError) as err:
        load_dataset("imagefolder", tmp_path)
    assert "holds no images" in str(err.value) and "\n" not in str(err.value)
    (tmp_path / "cats" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError) as err:
        load_dataset("imagefolder", tmp_path)
    assert "cannot read image" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError):
        load_dataset("imagefolder")


# ---- npz and from_arrays ---------------------------------------------------------------------------------

def test_npz_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (12, 7, 7), dtype=np.uint8), "y_train": np.arange(12) % 3,
              "x_test": rng.integers(0, 256, (6, 7, 7), dtype=np.uint8), "y_test": np.arange(6) % 3}
    np.savez(tmp_path / "data.npz", **arrays)
    direct = from_arrays(**arrays, name="npz")
    for root in (tmp_path / "data.npz", tmp_path):
        splits = load_dataset("npz", root)
        assert splits.info == direct.info
        assert torch.equal(splits.train.images, direct.train.images)
        assert np.array_equal(raw_pixels(splits.test, splits.info)[:, 0], arrays["x_test"])
    np.savez(tmp_path / "bad.npz", x_train=arrays["x_train"], y_train=arrays["y_train"])
    with pytest.raises(DataError) as err:
        load_dataset("npz", tmp_path / "bad.npz")
    assert "lacks key(s) x_test, y_test" in str(err.value) and "\n" not in str(err.value)


def test_npz_refuses_pickled_objects(tmp_path):
    objs = np.empty(2, dtype=object)
    np.savez(tmp_path / "data.npz", x_train=objs, y_train=objs, x_test=objs, y_test=objs)
    with pytest.raises(DataError) as err:
        load_dataset("npz", tmp_path)
    assert "object arrays" in str(err.value)


def test_from_arrays_layouts_agree():
    rng = np.random.default_rng(0)
    nchw = rng.integers(0, 256, (10, 3, 5, 6), dtype=np.uint8)
    y = np.arange(10) % 2
    ref = from_arrays(nchw, y, nchw[:4], y[:4])
    nhwc = from_arrays(nchw.transpose(0, 2, 3, 1), y, nchw[:4].transpose(0, 2, 3, 1), y[:4])
    floats = from_arrays(torch.from_numpy(nchw).float() / 255, torch.from_numpy(y), nchw[:4] / 255.0, y[:4])
    for other in (nhwc, floats):
        assert other.info.channels == 3 and other.info.im_size == (5, 6)
        assert torch.allclose(other.train.images, ref.train.images, atol=1e-5)
    assert torch.allclose(ref.train.images.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(ref.train.images.std(dim=(0, 2, 3), correction=0), torch.ones(3), atol=1e-4)
    grey = from_arrays(nchw[:, 0], y, nchw[:4, 0], y[:4], num_classes=5, mean=0.5, std=0.25,
                       class_names=list("abcde"))
    assert grey.info.channels == 1 and grey.info.num_classes == 5 and grey.info.mean == (0.5,)
    assert grey.info.class_names == tuple("abcde")
