"""Bad input gives one-line DataError / ConfigError messages that say what is wrong and what to do."""
from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest
from data_fakes import IDX_NAMES, idx_bytes, require_files, write_idx_set

from datadistill.data import DATASETS, from_arrays, list_datasets, load_dataset
from datadistill.errors import ConfigError, DataError


def one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg and msg
    return msg


def test_missing_files_name_them_and_the_folders(tmp_path):
    with pytest.raises(DataError) as err:
        load_dataset("mnist", tmp_path)
    msg = one_line(err)
    assert all(name in msg for name in IDX_NAMES)
    assert str(tmp_path / "mnist") in msg and str(tmp_path) in msg and "never downloads" in msg


def test_half_copied_folder_says_what_is_missing(tmp_path):
    write_idx_set(tmp_path / "mnist")
    (tmp_path / "mnist" / IDX_NAMES[3]).unlink()
    with pytest.raises(DataError) as err:
        load_dataset("mnist", tmp_path)
    assert f"lacks {IDX_NAMES[3]}" in one_line(err)


def test_default_root_comes_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DATADISTILL_DATA", str(tmp_path))
    with pytest.raises(DataError) as err:
        load_dataset("usps")
    assert "usps.t.bz2" in one_line(err) and str(tmp_path / "usps") in str(err.value)
    write_idx_set(tmp_path)  # files directly in root/ are found too
    splits = load_dataset("mnist")
    assert (len(splits.train), len(splits.test)) == (30, 10)
    assert splits.train.class_counts() == [3] * 10


def test_truncated_gzip_is_reported(tmp_path):
    folder = write_idx_set(tmp_path / "mnist")
    path = folder / IDX_NAMES[0]
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(DataError) as err:
        load_dataset("mnist", tmp_path)
    msg = one_line(err)
    assert f"file {path} is truncated or corrupt" in msg and "replace it with the original" in msg


def test_truncated_copy_of_real_file(tmp_path, shared_root):
    real = shared_root / "mnist"
    require_files(real, *IDX_NAMES)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in IDX_NAMES:
        shutil.copyfile(real / name, folder / name)
    target = folder / "t10k-labels-idx1-ubyte.gz"
    target.write_bytes((real / "t10k-labels-idx1-ubyte.gz").read_bytes()[:2000])
    with pytest.raises(DataError) as err:
        load_dataset("mnist", tmp_path)
    assert "t10k-labels-idx1-ubyte.gz is truncated or corrupt" in one_line(err)


def test_not_gzip_at_all(tmp_path):
    folder = write_idx_set(tmp_path / "mnist")
    (folder / IDX_NAMES[1]).write_bytes(b"this is not gzip data")
    with pytest.raises(DataError) as err:
        load_dataset("mnist", tmp_path)
    assert "truncated or corrupt" in one_line(err)


def test_wrong_magic(tmp_path):
    folder = write_idx_set(tmp_path / "mnist")
    (folder / IDX_NAMES[0]).write_bytes(gzip.compress(idx_bytes(2049, np.zeros((30, 28, 28)))))
    with pytest.raises(DataError) as err:
        load_dataset("mnist", tmp_path)
    assert "magic number 2049, expected 2051" in one_line(err)


def test_header_count_disagrees_with_bytes(tmp_path):
    folder = write_idx_set(tmp_path / "mnist")
    (folder / IDX_NAMES[2]).write_bytes(gzip.compress(idx_bytes(2051, np.zeros((9, 28, 28)), (10, 28, 28))))
    with pytest.raises(DataError) as err:
        load_dataset("mnist", tmp_path)
    assert "header says 10 x 28 x 28" in one_line(err)


def test_image_and_label_counts_must_match(tmp_path):
    folder = write_idx_set(tmp_path / "mnist")
    (folder / IDX_NAMES[3]).write_bytes(gzip.compress(idx_bytes(2049, np.arange(9) % 10)))
    with pytest.raises(DataError) as err:
        load_dataset("mnist", tmp_path)
    assert "10 images" in one_line(err) and "9 labels" in str(err.value)


def test_idx_label_out_of_range(tmp_path):
    folder = write_idx_set(tmp_path / "fashion-mnist")
    (folder / IDX_NAMES[1]).write_bytes(gzip.compress(idx_bytes(2049, np.full(30, 12))))
    with pytest.raises(DataError) as err:
        load_dataset("fashion-mnist", tmp_path)
    assert "label 12" in one_line(err)


def test_from_arrays_label_out_of_range():
    x = np.zeros((4, 8, 8), dtype=np.uint8)
    with pytest.raises(DataError) as err:
        from_arrays(x, np.array([0, 1, 2, 5]), x, np.array([0, 1, 2, 2]), num_classes=3)
    assert "y_train has labels in [0, 5], expected [0, 2]" in one_line(err)
    with pytest.raises(DataError) as err:
        from_arrays(x, np.array([0, 1, 2, 2]), x, np.array([0, -1, 2, 2]))
    assert "y_test" in one_line(err)


def test_from_arrays_rejects_normalised_floats_and_bad_shapes():
    x = np.random.default_rng(0).normal(size=(4, 8, 8)).astype(np.float32)
    with pytest.raises(DataError) as err:
        from_arrays(x, np.arange(4), x, np.arange(4))
    assert "[0, 1]" in one_line(err)
    with pytest.raises(DataError) as err:
        from_arrays(np.zeros((4, 8)), np.arange(4), np.zeros((4, 8)), np.arange(4))
    assert "N x H x W" in one_line(err)
    with pytest.raises(DataError) as err:
        from_arrays(np.zeros((4, 8, 8)), np.arange(3), np.zeros((4, 8, 8)), np.arange(4))
    assert "4 labels" in one_line(err)


def test_unknown_dataset_lists_known_names():
    with pytest.raises(ConfigError) as err:
        load_dataset("imagenet-22k")
    msg = one_line(err)
    assert "imagenet-22k" in msg and all(name in msg for name in ("mnist", "cifar10", "usps", "digits"))


def test_unknown_option_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        load_dataset("digits", size=16, colour=True)
    assert "colour" in one_line(err) and "size" in str(err.value)
    with pytest.raises(ConfigError):
        load_dataset("digits", size=0)


def test_registry_lists_every_loader():
    names = list_datasets()
    for name in ("mnist", "fashion-mnist", "fashion_mnist", "usps", "digits", "cifar10", "cifar100",
                 "svhn", "imagefolder", "npz"):
        assert name in names and name in DATASETS
