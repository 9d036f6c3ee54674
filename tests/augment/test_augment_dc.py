"""DC evaluation augmentation: shape, per-image variety, fills, determinism, errors."""
from __future__ import annotations

import pytest
import torch

from datadistill.augment import DCAugConfig, dc_augment
from datadistill.errors import ConfigError


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _digits(n: int = 16) -> torch.Tensor:
    base = torch.zeros(1, 1, 28, 28)
    base[..., 8:20, 12:16] = 1.0  # a bar, so every geometric op visibly moves pixels
    return base.expand(n, -1, -1, -1).contiguous()


def test_shape_and_per_image_variety() -> None:
    x = _digits()
    out = dc_augment(x, DCAugConfig(), _gen(0))
    assert out.shape == x.shape and torch.isfinite(out).all()
    distinct = {tuple(o.flatten().round(decimals=4).tolist()) for o in out}
    assert len(distinct) >= 12  # identical inputs, per-image ops and parameters


def test_each_op_alone_changes_images_and_keeps_gradients() -> None:
    for strategy in ("crop", "scale", "rotate", "noise"):
        x = _digits(8).requires_grad_(True)
        out = dc_augment(x, DCAugConfig(strategy=strategy), _gen(1))
        assert out.shape == x.shape
        assert not torch.allclose(out, x.detach()), strategy
        out.sum().backward()
        assert x.grad is not None and x.grad.abs().sum() > 0


def test_fill_is_the_per_channel_batch_mean() -> None:
    x = torch.full((4, 2, 20, 20), 0.0)
    x[:, 1] = 3.0  # channel means 0 and 3: a mean fill leaves a constant image unchanged
    out = dc_augment(x, DCAugConfig(strategy="rotate"), _gen(2))
    assert torch.allclose(out, x, atol=1e-4)


def test_crop_is_an_integer_shift_with_mean_fill() -> None:
    x = torch.arange(4 * 12 * 12, dtype=torch.float32).view(4, 1, 12, 12)
    out = dc_augment(x, DCAugConfig(strategy="crop", crop=2), _gen(3))
    mean = x.mean()
    for img, src in zip(out, x):  # every value is a source pixel or the fill
        is_src = torch.isclose(img.unsqueeze(-1), src.flatten(), atol=1e-3).any(-1)
        assert (is_src | torch.isclose(img, mean, atol=1e-3)).all()


def test_determinism_and_no_global_rng() -> None:
    x, cfg = _digits(), DCAugConfig(strategy="crop_scale_rotate_noise")
    state = torch.get_rng_state()
    a, b, c = dc_augment(x, cfg, _gen(5)), dc_augment(x, cfg, _gen(5)), dc_augment(x, cfg, _gen(6))
    assert torch.equal(state, torch.get_rng_state())
    assert torch.equal(a, b) and not torch.allclose(a, c)


def test_none_strategy_and_bad_op() -> None:
    x = _digits(2)
    assert torch.equal(dc_augment(x, DCAugConfig(strategy="none"), _gen()), x)
    with pytest.raises(ConfigError) as info:
        DCAugConfig(strategy="crop_shear")
    assert "\n" not in str(info.value) and "shear" in str(info.value)


def test_bfloat16_batch_keeps_its_dtype() -> None:
    x = _digits(4).to(torch.bfloat16)
    assert dc_augment(x, DCAugConfig(strategy="crop_scale_rotate_noise"), _gen(0)).dtype == torch.bfloat16
