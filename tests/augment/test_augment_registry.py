"""The augmentation registry: every registered name builds a working `aug(x, generator)`."""
from __future__ import annotations

import pytest
import torch

from datadistill.augment import AUGMENTATIONS, DSA, make_augment
from datadistill.errors import ConfigError


@pytest.mark.parametrize("name", AUGMENTATIONS.names())
def test_every_registered_augmentation_runs(name: str) -> None:
    x = torch.randn(5, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    aug = make_augment(name, dataset="mnist")
    out = aug(x, torch.Generator().manual_seed(1))
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_registered_names() -> None:
    assert {"dsa", "dc", "none"} <= set(AUGMENTATIONS.names())


def test_dsa_strategy_follows_dataset_and_options_pass_through() -> None:
    assert isinstance(make_augment("dsa", dataset="mnist"), DSA)
    assert "flip" not in make_augment("dsa", dataset="mnist").cfg.strategy
    assert "flip" in make_augment("dsa", dataset="cifar10").cfg.strategy
    assert make_augment("dsa", strategy="crop", ratio_crop_pad=0.25).cfg.ratio_crop_pad == 0.25


def test_unknown_names_and_options_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        make_augment("mixup")
    with pytest.raises(ConfigError) as info:
        make_augment("dc", crop_size=3)
    assert "crop_size" in str(info.value) and "\n" not in str(info.value)
