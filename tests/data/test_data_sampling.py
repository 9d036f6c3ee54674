"""RealData per-class sampling and the ipc range check."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from datadistill.data import from_arrays
from datadistill.errors import ConfigError, DataError


@pytest.fixture()
def splits():
    labels = np.array([0] * 5 + [1] * 3 + [2] * 4)
    images = np.broadcast_to((labels * 80 + np.arange(12))[:, None, None], (12, 4, 4)).astype(np.uint8)
    return from_arrays(images, labels, images, labels)


def test_sample_classes_shape_classes_and_determinism(splits):
    train = splits.train
    picks = train.sample_classes(2, torch.Generator().manual_seed(0))
    assert picks.shape == (3, 2, 1, 4, 4)
    for c in range(3):
        members = train.images[train.class_indices[c]]
        for img in picks[c]:
            assert any(torch.equal(img, m) for m in members)
        assert not torch.equal(picks[c, 0], picks[c, 1])  # without replacement
    again = train.sample_classes(2, torch.Generator().manual_seed(0))
    assert torch.equal(picks, again)
    one = train.sample_class(2, 3, torch.Generator().manual_seed(1))
    assert one.shape == (3, 1, 4, 4)


def test_sample_classes_too_many(splits):
    with pytest.raises(DataError) as err:
        splits.train.sample_classes(4, torch.Generator().manual_seed(0))
    assert "fewer than 4" in str(err.value)


def test_check_ipc(splits):
    assert splits.train.class_counts() == [5, 3, 4]
    splits.train.check_ipc(1)
    splits.train.check_ipc(3)
    for bad in (0, 4):
        with pytest.raises(ConfigError) as err:
            splits.train.check_ipc(bad)
        msg = str(err.value)
        assert "\n" not in msg and "smallest class has 3 images" in msg and "1 <= ipc <= 3" in msg


def test_subset_keeps_classes(splits):
    sub = splits.train.subset(torch.tensor([0, 5, 8]))
    assert sub.labels.tolist() == [0, 1, 2] and sub.class_counts() == [1, 1, 1]
