"""The reference-exact DC augmentation: every output is one of the reference's per-image results, exactly."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.ndimage import rotate as scipy_rotate

from datadistill.augment import AUGMENTATIONS, DCAugConfig, dc_augment_reference, make_augment
from datadistill.errors import ConfigError
from datadistill.evaluate.protocols import get_protocol


def _images(n: int = 12, c: int = 1, size: int = 28, seed: int = 0) -> torch.Tensor:
    x = torch.rand(n, c, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 0.5
    x[..., :3, :] = -0.4  # a flat border strip, as on digits
    return x


# Per-image oracles written from the reference's description (Zhao et al. 2021, utils.augment), one image at a time.
def _crop_oracle(im: torch.Tensor, r: int, c: int, crop: int, mean: torch.Tensor) -> torch.Tensor:
    ch, h, w = im.shape
    canvas = mean.view(ch, 1, 1).expand(ch, h + 2 * crop, w + 2 * crop).clone()
    canvas[:, crop:crop + h, crop:crop + w] = im
    return canvas[:, r:r + h, c:c + w]


def _scale_oracle(im: torch.Tensor, hh: int, ww: int) -> torch.Tensor:
    ch, h, w = im.shape
    tmp = F.interpolate(im[None], [hh, ww])[0]
    side = max(hh, ww, h, w)
    canvas = torch.zeros(ch, side, side)
    r, c = (side - hh) // 2, (side - ww) // 2
    canvas[:, r:r + hh, c:c + ww] = tmp
    r, c = (side - h) // 2, (side - w) // 2
    return canvas[:, r:r + h, c:c + w]


def _rotate_oracle(im: torch.Tensor, angle: int, fill: float) -> torch.Tensor:
    out = scipy_rotate(im.numpy(), angle=angle, axes=(-2, -1), cval=fill)
    r, c = (out.shape[-2] - im.shape[-2]) // 2, (out.shape[-1] - im.shape[-1]) // 2
    return torch.from_numpy(np.ascontiguousarray(out[:, r:r + im.shape[-2], c:c + im.shape[-1]]))


def _matches(out: torch.Tensor, candidates: dict) -> list:
    return [key for key, cand in candidates.items() if torch.equal(out, cand)]


def test_crop_is_an_integer_shift_in_the_references_range_with_mean_fill() -> None:
    x, cfg = _images(40, c=3), DCAugConfig(strategy="crop", crop=2)
    mean = x.mean(dim=(0, 2, 3))
    out = dc_augment_reference(x, cfg, torch.Generator().manual_seed(1))
    seen = set()
    for im, o in zip(x, out):
        hits = _matches(o, {(r, c): _crop_oracle(im, r, c, 2, mean) for r in range(5) for c in range(5)})
        assert len(hits) == 1
        seen.add(hits[0])
    offsets = {v for rc in seen for v in rc}
    assert offsets == {0, 1, 2, 3}  # windows from [0, 2 * crop): shifts -2..1, never +2 (offset 4)


def test_scale_is_the_references_nearest_resize_on_a_zero_canvas() -> None:
    x, cfg = _images(16), DCAugConfig(strategy="scale", scale=0.2)
    out = dc_augment_reference(x, cfg, torch.Generator().manual_seed(2))
    sizes = range(int(0.8 * 28), int(1.2 * 28) + 1)
    shrunk = 0
    for im, o in zip(x, out):
        hits = _matches(o, {(a, b): _scale_oracle(im, a, b) for a in sizes for b in sizes})
        assert hits, "no (height, width) of the reference's range reproduces this output"
        shrunk += min(min(hits)) < 28
    assert shrunk > 0 and (out == 0).any()  # a shrunk image has the reference's zero border, not the mean


def test_rotate_is_scipys_cubic_rotation_by_whole_degrees() -> None:
    x, cfg = _images(10, c=2), DCAugConfig(strategy="rotate", rotate=10)
    fill = float(x.mean(dim=(0, 2, 3)).mean())
    out = dc_augment_reference(x, cfg, torch.Generator().manual_seed(3))
    angles = []
    for im, o in zip(x, out):
        hits = _matches(o, {a: _rotate_oracle(im, a, fill) for a in range(-10, 10)})
        assert len(hits) >= 1
        angles.append(hits[0])
    assert len(set(angles)) > 3  # per-image angles


def test_one_op_per_image_deterministic_per_generator_and_dtype_kept() -> None:
    x, cfg = _images(24), DCAugConfig()
    a = dc_augment_reference(x, cfg, torch.Generator().manual_seed(5))
    b = dc_augment_reference(x, cfg, torch.Generator().manual_seed(5))
    c = dc_augment_reference(x, cfg, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c) and a.shape == x.shape
    assert dc_augment_reference(x.bfloat16(), cfg, torch.Generator().manual_seed(5)).dtype == torch.bfloat16
    assert torch.equal(dc_augment_reference(x, DCAugConfig(strategy="none"), torch.Generator()), x)


def test_registered_with_its_protocol_and_clear_errors() -> None:
    assert "dc-reference" in AUGMENTATIONS.names()
    proto = get_protocol("dc2021-aug-reference")
    assert proto.augment == "dc-reference" and proto.epochs == get_protocol("dc2021-aug").epochs == 1000
    aug = make_augment("dc-reference", "mnist")
    assert aug(_images(4), torch.Generator().manual_seed(0)).shape == (4, 1, 28, 28)
    with pytest.raises(ConfigError, match="whole degrees"):
        dc_augment_reference(_images(2), DCAugConfig(rotate=7.5), torch.Generator())
    with pytest.raises(ConfigError, match="unknown DCAugConfig option"):
        make_augment("dc-reference", "mnist", shear=3)
