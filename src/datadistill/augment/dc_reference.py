"""The DC evaluation augmentation with the reference's exact pixel semantics (registered as 'dc-reference').

`dc_augment` (dc_aug.py) is one batched bilinear warp with continuous parameters. The reference implementation
(Zhao et al., ICLR 2021, `augment` in its utils) differs in details that change the pixels, so this module
reproduces them, batched by op instead of looped over images:

- one op per image, drawn uniformly from the strategy (as in `dc_augment`);
- crop: pad by `crop` pixels with the per-channel batch mean and cut a window at an offset drawn from
  [0, 2 * crop), so shifts lie in [-crop, crop - 1];
- scale: height and width are int(u * size) with u uniform in [1 - scale, 1 + scale], resized with
  nearest-neighbour sampling (torch's legacy 'nearest'), placed in a zero canvas and centre-cut with integer
  (truncated) offsets, so a shrunk image gets a zero border, not the mean;
- rotate: an integer angle from [-rotate, rotate - 1] degrees, scipy's cubic-spline `ndimage.rotate`
  (reshape=True, constant fill with the mean of the channel means), centre-cut with truncated offsets;
  scipy is called once per distinct angle in the batch, never once per image;
- noise: Gaussian noise times `noise`, as in `dc_augment`.

Random numbers come from the given torch generator, so the draws (not the distributions) differ from the
reference's numpy global state. Gradients do not flow through rotate (scipy), so this is for training networks
on a fixed set (evaluation), which is what the reference used it for.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import ConfigError
from .dc_aug import DCAugConfig, require_batch


def _uniform(n: int, low: float, high: float, gen: torch.Generator) -> Tensor:
    return low + (high - low) * torch.rand(n, generator=gen, device=gen.device, dtype=torch.float64)


def _window(canvas: Tensor, top: Tensor, left: Tensor, hw: tuple[int, int]) -> Tensor:
    """Cut an (h, w) window from each (C, H', W') canvas at per-image integer (top, left)."""
    n, c = canvas.shape[:2]
    rows = top.view(n, 1) + torch.arange(hw[0], device=canvas.device)
    cols = left.view(n, 1) + torch.arange(hw[1], device=canvas.device)
    batch = torch.arange(n, device=canvas.device).view(n, 1, 1)
    cut = canvas.permute(0, 2, 3, 1)[batch, rows.view(n, -1, 1), cols.view(n, 1, -1)]  # (n, h, w, C)
    return cut.permute(0, 3, 1, 2)


def _crop(x: Tensor, cfg: DCAugConfig, gen: torch.Generator, mean: Tensor) -> Tensor:
    if cfg.crop == 0:
        return x
    n, c, h, w = x.shape
    canvas = mean.view(1, c, 1, 1).to(x.dtype).expand(n, c, h + 2 * cfg.crop, w + 2 * cfg.crop).clone()
    canvas[:, :, cfg.crop:cfg.crop + h, cfg.crop:cfg.crop + w] = x
    offsets = torch.randint(0, 2 * cfg.crop, (2, n), generator=gen, device=gen.device).to(x.device)
    return _window(canvas, offsets[0], offsets[1], (h, w))


@lru_cache(maxsize=32)
def _nearest_table(size: int, shortest: int, longest: int) -> Tensor:
    """Row m (shortest <= m <= longest): the source index of each destination index when `size` pixels are
    resized to m (torch's legacy nearest rule, taken from F.interpolate itself), padded with -1. Built once
    per (size, range) and kept: every batch of a training run asks for the same table."""
    table = torch.full((longest + 1, longest), -1, dtype=torch.long)
    ramp = torch.arange(size, dtype=torch.float64).view(1, 1, size)
    for m in range(shortest, longest + 1):
        table[m, :m] = F.interpolate(ramp, size=m, mode="nearest").view(m).long()
    return table


def _resize_index(size: int, lengths: Tensor, cfg: DCAugConfig, out: int, centre_shift: Tensor) -> Tensor:
    """Per image, the source index of each of `out` output positions along one axis (-1: zero fill)."""
    table = _nearest_table(size, int((1 - cfg.scale) * size), int((1 + cfg.scale) * size)).to(lengths.device)
    pos = torch.arange(out, device=lengths.device).view(1, -1) + centre_shift.view(-1, 1)  # in the scaled image
    inside = (pos >= 0) & (pos < lengths.view(-1, 1))
    src = table[lengths.view(-1, 1), pos.clamp(0, table.shape[1] - 1)]
    return torch.where(inside, src, torch.full_like(src, -1))


def _scale(x: Tensor, cfg: DCAugConfig, gen: torch.Generator, mean: Tensor) -> Tensor:
    n, c, h, w = x.shape
    heights = (_uniform(n, 1 - cfg.scale, 1 + cfg.scale, gen) * h).long().to(x.device)
    widths = (_uniform(n, 1 - cfg.scale, 1 + cfg.scale, gen) * w).long().to(x.device)
    side = torch.stack([heights, widths, torch.full_like(heights, h), torch.full_like(heights, w)]).amax(0)
    # canvas position of output pixel 0 minus the scaled image's top-left, per axis (both truncated halves)
    rows = _resize_index(h, heights, cfg, h, torch.div(side - h, 2, rounding_mode="floor")
                         - torch.div(side - heights, 2, rounding_mode="floor"))
    cols = _resize_index(w, widths, cfg, w, torch.div(side - w, 2, rounding_mode="floor")
                         - torch.div(side - widths, 2, rounding_mode="floor"))
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    picked = x.permute(0, 2, 3, 1)[batch, rows.clamp(min=0).view(n, h, 1), cols.clamp(min=0).view(n, 1, w)]
    keep = ((rows >= 0).view(n, h, 1) & (cols >= 0).view(n, 1, w)).unsqueeze(-1)
    return (picked * keep.to(x.dtype)).permute(0, 3, 1, 2)


def _rotate(x: Tensor, cfg: DCAugConfig, gen: torch.Generator, mean: Tensor) -> Tensor:
    from scipy.ndimage import rotate as scipy_rotate  # scipy ships with scikit-learn

    n, c, h, w = x.shape
    span = int(cfg.rotate)
    if span == 0:
        return x
    angles = torch.randint(-span, span, (n,), generator=gen, device=gen.device).cpu()
    images = x.detach().cpu().numpy()
    out = np.empty_like(images)
    fill = float(mean.mean())
    for angle in angles.unique().tolist():  # one scipy call per distinct angle, never per image
        sel = (angles == angle).nonzero().flatten().numpy()
        turned = scipy_rotate(images[sel], angle=angle, axes=(-2, -1), cval=fill)
        top, left = (turned.shape[-2] - h) // 2, (turned.shape[-1] - w) // 2
        out[sel] = turned[..., top:top + h, left:left + w]
    return torch.from_numpy(out).to(x.device)


def _noise(x: Tensor, cfg: DCAugConfig, gen: torch.Generator, mean: Tensor) -> Tensor:
    return x + cfg.noise * torch.randn(x.shape, generator=gen, device=gen.device).to(x.device, x.dtype)


_OPS = {"crop": _crop, "scale": _scale, "rotate": _rotate, "noise": _noise}


def dc_augment_reference(x: Tensor, cfg: DCAugConfig, generator: torch.Generator) -> Tensor:
    """Augment a (B, C, H, W) batch the way the reference does: one op per image, exact pixel rules."""
    require_batch(x)
    if cfg.rotate != int(cfg.rotate):
        raise ConfigError(f"the reference DC augmentation draws whole degrees; got rotate={cfg.rotate}, "
                          "give an integer")
    ops = cfg.ops
    if not ops or x.shape[0] == 0:
        return x
    work = x.detach().float()
    mean = work.mean(dim=(0, 2, 3))  # per channel, over the batch as it came in
    choice = torch.randint(0, len(ops), (x.shape[0],), generator=generator, device=generator.device).to(x.device)
    out = work.clone()
    for k, op in enumerate(ops):
        sel = (choice == k).nonzero().flatten()
        if len(sel):
            out[sel] = _OPS[op](work[sel], cfg, generator, mean)
    return out.to(x.dtype)
