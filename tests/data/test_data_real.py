"""Loaders on the real files in shared/data (skipped when absent) and on scikit-learn's bundled digits."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from data_fakes import IDX_NAMES, require_files

from datadistill.data import DatasetSplits, denormalize, load_dataset

MNIST_TRAIN = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
USPS_TEST = [359, 264, 198, 166, 200, 160, 170, 147, 166, 177]
DIGITS_ALL = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


@pytest.fixture(scope="module")
def mnist(shared_root) -> DatasetSplits:
    require_files(shared_root / "mnist", *IDX_NAMES)
    return load_dataset("mnist", shared_root)


@pytest.fixture(scope="module")
def fashion(shared_root) -> DatasetSplits:
    require_files(shared_root / "fashion-mnist", *IDX_NAMES)
    return load_dataset("fashion_mnist", shared_root)


@pytest.fixture(scope="module")
def usps(shared_root) -> DatasetSplits:
    require_files(shared_root / "usps", "usps.t.bz2")
    return load_dataset("usps", shared_root)


@pytest.fixture(scope="module")
def digits() -> DatasetSplits:
    return load_dataset("digits")


def test_mnist_counts_and_normalisation(mnist):
    assert (len(mnist.train), len(mnist.test)) == (60000, 10000)
    assert mnist.train.class_counts() == MNIST_TRAIN
    assert mnist.test.class_counts() == MNIST_TEST
    assert mnist.info.mean == (0.1307,) and mnist.info.std == (0.3081,)
    assert mnist.train.images.shape == (60000, 1, 28, 28) and mnist.train.images.dtype == torch.float32
    assert abs(float(mnist.train.images.mean())) < 0.02
    assert abs(float(mnist.train.images.std()) - 1.0) < 0.02


def test_mnist_pixels_round_trip_to_uint8_grid(mnist):
    raw = denormalize(mnist.test.images[:50], mnist.info.mean, mnist.info.std) * 255
    assert float(raw.min()) > -0.01 and float(raw.max()) < 255.01
    assert torch.allclose(raw, raw.round(), atol=2e-3)


def test_fashion_mnist_counts_and_names(fashion):
    assert fashion.info.name == "fashion-mnist"
    assert (len(fashion.train), len(fashion.test)) == (60000, 10000)
    assert fashion.train.class_counts() == [6000] * 10
    assert fashion.test.class_counts() == [1000] * 10
    assert fashion.info.class_names[0] == "T-shirt/top" and fashion.info.class_names[9] == "Ankle boot"
    assert (fashion.info.mean, fashion.info.std) == ((0.2861,), (0.3530,))


def test_usps_test_only_split(usps):
    assert len(usps.train) + len(usps.test) == 2007
    assert (len(usps.train), len(usps.test)) == (1405, 602)
    per_class = [a + b for a, b in zip(usps.train.class_counts(), usps.test.class_counts())]
    assert per_class == USPS_TEST
    assert usps.info.im_size == (16, 16) and usps.info.channels == 1
    assert abs(float(usps.train.images.mean())) < 0.05
    assert abs(float(usps.train.images.std()) - 1.0) < 0.05


def test_usps_split_is_fixed_and_resizable(shared_root, usps):
    again = load_dataset("usps", shared_root, size=28, split_test_only=True)
    assert again.train.images.shape == (1405, 1, 28, 28)
    assert torch.equal(again.train.labels, usps.train.labels)


def test_digits_counts_and_fixed_stratified_split(digits):
    assert len(digits.train) + len(digits.test) == 1797
    assert [a + b for a, b in zip(digits.train.class_counts(), digits.test.class_counts())] == DIGITS_ALL
    expected_test = [int(np.floor(0.2 * n + 0.5)) for n in DIGITS_ALL]
    assert digits.test.class_counts() == expected_test
    assert digits.info.im_size == (8, 8) and digits.info.mean == (0.3049,) and digits.info.std == (0.3759,)
    again = load_dataset("digits")
    assert torch.equal(again.test.images, digits.test.images)
    assert abs(float(digits.train.images.mean())) < 0.01
    assert abs(float(digits.train.images.std()) - 1.0) < 0.01


def test_digits_read_from_the_bundled_file_equal_scikit_learns_loader(digits, monkeypatch):
    from sklearn.datasets import load_digits as sk_load_digits

    from datadistill.data import digits as digits_mod

    images, target = digits_mod._read_bundled()
    bunch = sk_load_digits()
    assert np.array_equal(images, bunch.images) and np.array_equal(target, bunch.target)
    monkeypatch.setattr(digits_mod, "_bundled_file", lambda: None)  # another layout: sklearn's own loader
    again = load_dataset("digits")
    assert torch.equal(again.train.images, digits.train.images) and torch.equal(again.test.labels, digits.test.labels)


def test_digits_resize(digits):
    big = load_dataset("digits", size=28)
    assert big.train.images.shape == (len(digits.train), 1, 28, 28)
    assert big.info.im_size == (28, 28)
    assert torch.equal(big.train.labels, digits.train.labels)
