"""DSA: every op alone, siamese sharing, determinism, exact geometry, reference equivalence, errors."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from datadistill.augment import DSA, DSAConfig, DSAParams, dsa_apply, dsa_sample, dsa_strategy_for
from datadistill.augment.dsa import GROUPS
from datadistill.errors import ConfigError


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _images(n: int = 6, c: int = 3, hw: int = 16, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, c, hw, hw, generator=_gen(seed))


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("per_image", [False, True])
def test_single_group_shape_finite_and_gradient(group: str, per_image: bool) -> None:
    cfg = DSAConfig(strategy=group, prob_flip=1.0)  # prob 1 so flip actually acts
    x = _images().requires_grad_(True)
    params = dsa_sample(cfg, x.shape, _gen(3), per_image=per_image, n=x.shape[0])
    assert params.groups == (group,)
    assert params.size == (x.shape[0] if per_image else 1)
    out = dsa_apply(x, params)
    assert out.shape == x.shape and torch.isfinite(out).all()
    (out * torch.randn(out.shape, generator=_gen(9))).sum().backward()  # weighted: stricter than sum()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_siamese_params_fit_batches_of_any_size() -> None:
    cfg = DSAConfig(single_op=False)
    real, syn = _images(n=7), _images(n=2, seed=5)
    params = dsa_sample(cfg, real.shape, _gen(0))
    big = dsa_apply(torch.cat([syn, real]), params)
    assert torch.allclose(dsa_apply(syn, params), big[:2], atol=1e-6)
    assert torch.allclose(dsa_apply(syn[:1], params), big[:1], atol=1e-6)


def test_siamese_method_shares_one_parameter_set() -> None:
    x = _images(n=4)
    for seed in range(6):  # every group gets drawn for some seed; identical inputs -> identical outputs
        a, b = DSA(DSAConfig()).siamese(x, x[:2].clone(), generator=_gen(seed))
        assert torch.allclose(a[:2], b, atol=1e-6)


def test_same_seed_same_output_different_seed_differs() -> None:
    dsa, x = DSA(DSAConfig(single_op=False)), _images()
    assert torch.equal(dsa(x, _gen(7)), dsa(x, _gen(7)))
    assert not torch.allclose(dsa(x, _gen(7)), dsa(x, _gen(8)))


def test_single_op_mode_draws_every_group() -> None:
    seen = {dsa_sample(DSAConfig(), (16, 16), _gen(s)).groups for s in range(60)}
    assert seen == {(g,) for g in GROUPS}


def test_per_image_params_differ_between_images() -> None:
    x = _images(n=1).expand(8, -1, -1, -1).contiguous()
    out = DSA(DSAConfig(strategy="rotate"))(x, _gen(0))
    assert not torch.allclose(out[0], out[1])


def test_flip_forced_equals_flip() -> None:
    x = _images()
    params = DSAParams(groups=("flip",), flip=torch.tensor([True]))
    assert torch.equal(dsa_apply(x, params), x.flip(-1))
    per_image = DSAParams(groups=("flip",), flip=torch.tensor([True, False] * 3))
    out = dsa_apply(x, per_image)
    assert torch.equal(out[0], x[0].flip(-1)) and torch.equal(out[1], x[1])


def test_crop_shift_by_one_is_exact_with_zero_fill() -> None:
    x = _images()
    out = dsa_apply(x, DSAParams(groups=("crop",), crop=torch.tensor([[0, 1]])))  # out[i, j] = x[i, j + 1]
    expected = torch.cat([x[..., 1:], torch.zeros_like(x[..., :1])], dim=-1)
    assert torch.equal(out, expected)
    out = dsa_apply(x, DSAParams(groups=("crop",), crop=torch.tensor([[-1, 0]])))  # out[i, j] = x[i - 1, j]
    expected = torch.cat([torch.zeros_like(x[..., :1, :]), x[..., :-1, :]], dim=-2)
    assert torch.equal(out, expected)


def test_crop_range_follows_reference_rounding() -> None:
    params = dsa_sample(DSAConfig(strategy="crop"), (32, 32), _gen(0), per_image=True, n=4000)
    assert params.crop.min() == -4 and params.crop.max() == 4  # int(32 * 0.125 + 0.5)


def test_cutout_zeroes_expected_square() -> None:
    x = torch.rand(3, 2, 16, 16) + 0.5  # strictly positive
    box = torch.tensor([[3, 5, 11, 13]])  # 8 x 8 inside the image
    out = dsa_apply(x, DSAParams(groups=("cutout",), cutout=box))
    assert (out == 0).sum() == 3 * 2 * 8 * 8
    assert (out[:, :, 3:11, 5:13] == 0).all()
    params = dsa_sample(DSAConfig(strategy="cutout"), x.shape, _gen(0), per_image=True, n=3)
    top, left, bottom, right = params.cutout[0].tolist()
    assert bottom - top == right - left == 8  # int(16 * 0.5 + 0.5)


def test_cutout_is_clipped_at_the_border() -> None:
    x = torch.ones(1, 1, 16, 16)
    out = dsa_apply(x, DSAParams(groups=("cutout",), cutout=torch.tensor([[-4, 12, 4, 20]])))
    assert (out == 0).sum() == 4 * 4 and (out[0, 0, :4, 12:] == 0).all()


def test_identity_scale_and_rotation() -> None:
    x = _images()
    same_scale = dsa_apply(x, DSAParams(groups=("scale",), scale=torch.ones(1, 2)))
    same_angle = dsa_apply(x, DSAParams(groups=("rotate",), rotate=torch.zeros(1)))
    assert torch.allclose(same_scale, x, atol=1e-5) and torch.allclose(same_angle, x, atol=1e-5)


def _reference_warp(x: torch.Tensor, theta: list[list[float]]) -> torch.Tensor:
    grid = F.affine_grid(torch.tensor([theta]).expand(x.shape[0], 2, 3), list(x.shape), align_corners=True)
    return F.grid_sample(x, grid, align_corners=True)


def test_scale_and_rotate_match_reference_sampling_grids() -> None:
    x = _images(hw=32)
    sx, sy, deg = 1.15, 0.9, 12.0
    scaled = dsa_apply(x, DSAParams(groups=("scale",), scale=torch.tensor([[sx, sy]])))
    assert torch.allclose(scaled, _reference_warp(x, [[sx, 0, 0], [0, sy, 0]]), atol=1e-4)
    a = math.radians(deg)
    rotated = dsa_apply(x, DSAParams(groups=("rotate",), rotate=torch.tensor([deg])))
    reference = _reference_warp(x, [[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0]])
    assert torch.allclose(rotated, reference, atol=1e-4)


def test_color_matches_reference_formulas() -> None:
    x = _images()
    b, s, c = torch.tensor([0.3]), torch.tensor([1.4]), torch.tensor([0.8])
    out = dsa_apply(x, DSAParams(groups=("color",), brightness=b, saturation=s, contrast=c))
    y = x + 0.3
    y = (y - y.mean(1, keepdim=True)) * 1.4 + y.mean(1, keepdim=True)
    y = (y - y.mean((1, 2, 3), keepdim=True)) * 0.8 + y.mean((1, 2, 3), keepdim=True)
    assert torch.allclose(out, y, atol=1e-5)


def test_unknown_group_is_a_one_line_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        DSAConfig(strategy="color_blur")
    assert "\n" not in str(info.value) and "blur" in str(info.value) and "rotate" in str(info.value)


def test_per_image_params_must_match_batch() -> None:
    params = dsa_sample(DSAConfig(strategy="flip"), (16, 16), _gen(0), per_image=True, n=3)
    with pytest.raises(ConfigError):
        dsa_apply(_images(n=5), params)


def test_none_strategy_is_identity() -> None:
    x = _images()
    assert torch.equal(DSA(DSAConfig(strategy="none"))(x, _gen(0)), x)


def test_strategy_for_dataset() -> None:
    assert dsa_strategy_for("mnist") == "color_crop_cutout_scale_rotate"
    assert dsa_strategy_for("SVHN") == "color_crop_cutout_scale_rotate"
    assert dsa_strategy_for("fashion-mnist") == "color_crop_cutout_flip_scale_rotate"
    assert dsa_strategy_for("cifar10") == DSAConfig().strategy


def test_no_global_rng_use() -> None:
    state = torch.get_rng_state()
    x = _images()
    DSA(DSAConfig(single_op=False))(x, _gen(0))
    DSA(DSAConfig()).siamese(x, x, generator=_gen(1))
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_dtype_is_kept_for_every_group(dtype: torch.dtype) -> None:
    x = _images().to(dtype).requires_grad_(True)
    out = dsa_apply(x, dsa_sample(DSAConfig(single_op=False), x.shape, _gen(0), per_image=True, n=6))
    assert out.dtype == dtype
    out.float().sum().backward()
    assert x.grad is not None and x.grad.dtype == dtype
