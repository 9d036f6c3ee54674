"""Expert buffers: compact per-epoch snapshots, a manifest, resume with the next expert, clear refusals."""
import json

import pytest
import torch

from datadistill.errors import ArtifactError, ConfigError
from datadistill.experts import ExpertBuffer, ExpertConfig, train_experts
from datadistill.models import create_model
from datadistill.models.flat import FlatLayout

CFG = ExpertConfig(epochs=2, precision="fp32")


class Stop(Exception):
    pass


def test_buffer_layout_manifest_and_snapshots(digits, tmp_path):
    buf = train_experts(digits, CFG, tmp_path / "b", num=1)
    man = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert man["config"]["epochs"] == 2 and man["info"]["name"] == "digits" and man["augmentation"]["dsa"]
    assert man["zca_fingerprint"] is None and len(buf) == 1 and man["experts"][0]["bytes"] > 0
    net = create_model("convnet", 1, 10, (8, 8))
    s0, s2 = buf.snapshots(0, [0, 2])
    assert s0.shape == (FlatLayout.of(net).numel,) and not torch.equal(s0, s2)
    assert 50 < man["experts"][0]["test_acc"] <= 100


def test_interrupted_buffer_continues_with_the_next_expert(digits, tmp_path):
    def stop_in_second(event):
        if event["event"] == "epoch" and event["expert"] == 1:
            raise Stop()

    with pytest.raises(Stop):
        train_experts(digits, CFG, tmp_path / "b", num=3, callback=stop_in_second)
    assert len(ExpertBuffer(tmp_path / "b")) == 1
    first = ExpertBuffer(tmp_path / "b").snapshots(0, [2])[0]
    buf = train_experts(digits, CFG, tmp_path / "b", num=3)
    assert len(buf) == 3 and torch.equal(buf.snapshots(0, [2])[0], first)
    fresh = train_experts(digits, CFG, tmp_path / "c", num=3)
    assert torch.equal(fresh.snapshots(2, [2])[0], buf.snapshots(2, [2])[0])  # same seed, same experts


def test_refusals_are_one_line(digits, tmp_path):
    train_experts(digits, CFG, tmp_path / "b", num=1)
    with pytest.raises(ConfigError, match="trained differently.*config"):
        train_experts(digits, ExpertConfig(epochs=3, precision="fp32"), tmp_path / "b", num=2)
    with pytest.raises(ArtifactError, match="no expert buffer"):
        ExpertBuffer(tmp_path / "nothing")
    with pytest.raises(ConfigError, match="trained with --zca"):
        train_experts(digits, ExpertConfig(epochs=1, zca=0.1), tmp_path / "z", num=1).check_compatible(
            digits.info, "convnet", {}, None)
