import json
import os
import stat

import pytest
import torch
from safetensors.torch import load_file

from datadistill import random_real
from datadistill.errors import ArtifactError
from datadistill.fileio import load_meta, save_tensors, write_json


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_save_tensors_round_trip_is_exact(tmp_path):
    gen = torch.Generator().manual_seed(0)
    tensors = {"a": torch.randn(3, 4, generator=gen), "b": torch.arange(5), "c": torch.randn(4, 3).t()}
    path = save_tensors(tmp_path / "x.safetensors", tensors, {"k": [1, 2], "s": "v"})
    back = load_file(str(path))
    assert set(back) == set(tensors) and all(torch.equal(back[k], tensors[k]) for k in tensors)
    assert json.loads(load_meta(path)) == {"k": [1, 2], "s": "v"}
    assert [p.name for p in tmp_path.iterdir()] == ["x.safetensors"]  # no temporary file left behind


def test_files_get_the_umask_permissions_not_owner_only(tmp_path, umask_022, digits):
    # safetensors' own writer makes 0600 files: a set shared through a group folder would be unreadable there
    assert _mode(save_tensors(tmp_path / "t.safetensors", {"a": torch.zeros(2)}, {})) == 0o644
    assert _mode(random_real(digits, 1, seed=0).save(tmp_path / "s.safetensors")) == 0o644
    assert _mode(write_json(tmp_path / "c.json", {"a": 1})) == 0o644
    os.umask(0o077)
    assert _mode(save_tensors(tmp_path / "u.safetensors", {"a": torch.zeros(2)}, {})) == 0o600


def test_overwrite_replaces_the_file(tmp_path):
    path = tmp_path / "x.safetensors"
    save_tensors(path, {"a": torch.zeros(2)}, {"n": 1})
    save_tensors(path, {"a": torch.ones(3)}, {"n": 2})
    assert torch.equal(load_file(str(path))["a"], torch.ones(3)) and json.loads(load_meta(path)) == {"n": 2}


def test_load_meta_names_a_foreign_file(tmp_path):
    from safetensors.torch import save_file

    save_file({"a": torch.zeros(1)}, str(tmp_path / "f.safetensors"))
    with pytest.raises(ArtifactError, match="no datadistill metadata"):
        load_meta(tmp_path / "f.safetensors")
