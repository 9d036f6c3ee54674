"""The DC paper's evaluation-time augmentation (Zhao et al., ICLR 2021), batched: 'crop_scale_rotate' on MNIST.

Per image ONE op is drawn uniformly from the strategy, with per-image parameters. The reference loops over
images on the CPU (scipy rotation, nearest-neighbour rescaling); here every geometric op is one per-image
pixel matrix (identity for images given another op) and the batch takes ONE kornia `warp_affine` call
(bilinear), filling uncovered pixels with the per-channel batch mean (the reference's fill for crop and
rotate; on normalised data the batch mean is near zero, the dataset's mean intensity, so on MNIST the border
is a faint grey, not the black background, in the reference too). Deliberate differences from the reference:
crop shifts are symmetric in [-crop, crop] (the reference draws [-crop, crop - 1]), rotation angles are
continuous rather than integer degrees, scale fills with the mean too (the reference pads with zeros), and
every op samples bilinearly (the reference scales nearest-neighbour and rotates with scipy's cubic spline).
'dc-reference' (dc_reference.py) follows the reference's pixel rules exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from kornia.geometry.transform import get_rotation_matrix2d, warp_affine
from torch import Tensor

from ..errors import ConfigError
from ._warp import warp_in_float

DC_OPS: tuple[str, ...] = ("crop", "scale", "rotate", "noise")


def parse_dc_strategy(strategy: str) -> tuple[str, ...]:
    """Split 'crop_scale_rotate' into validated op names ('none' or '' -> no ops)."""
    if strategy.strip().lower() in ("", "none"):
        return ()
    ops = tuple(strategy.lower().split("_"))
    unknown = [op for op in ops if op not in DC_OPS]
    if unknown:
        raise ConfigError(f"unknown DC augmentation op '{unknown[0]}' in '{strategy}'; known: {', '.join(DC_OPS)}")
    return ops


@dataclass(frozen=True)
class DCAugConfig:
    """DC augmentation settings (reference `get_daparam` for MNIST): crop in pixels, rotate in degrees."""

    strategy: str = "crop_scale_rotate"
    crop: int = 4
    scale: float = 0.2
    rotate: float = 45.0
    noise: float = 0.001

    def __post_init__(self) -> None:
        parse_dc_strategy(self.strategy)
        if self.crop < 0 or not 0.0 <= self.scale < 1.0 or self.rotate < 0.0 or self.noise < 0.0:
            raise ConfigError("DC augmentation needs crop >= 0, 0 <= scale < 1, rotate >= 0 and noise >= 0")

    @property
    def ops(self) -> tuple[str, ...]:
        """The validated ops in strategy order."""
        return parse_dc_strategy(self.strategy)


def _crop_matrices(cfg: DCAugConfig, n: int, gen: torch.Generator) -> Tensor:
    shift = torch.randint(-cfg.crop, cfg.crop + 1, (n, 2), generator=gen, device=gen.device).float()
    matrix = torch.eye(2, 3, device=gen.device).repeat(n, 1, 1)
    matrix[:, :, 2] = shift
    return matrix


def _scale_matrices(cfg: DCAugConfig, n: int, gen: torch.Generator, centre: Tensor) -> Tensor:
    factor = 1.0 + (torch.rand(n, 2, generator=gen, device=gen.device) * 2.0 - 1.0) * cfg.scale
    matrix = torch.zeros(n, 2, 3, device=gen.device)
    matrix[:, 0, 0], matrix[:, 1, 1] = factor[:, 0], factor[:, 1]
    matrix[:, :, 2] = centre * (1.0 - factor)  # scale about the image centre
    return matrix


def _rotate_matrices(cfg: DCAugConfig, n: int, gen: torch.Generator, centre: Tensor) -> Tensor:
    angle = (torch.rand(n, generator=gen, device=gen.device) * 2.0 - 1.0) * cfg.rotate
    return get_rotation_matrix2d(centre, angle, torch.ones(n, 2, device=gen.device))[:, :2]


def _matrices(cfg: DCAugConfig, choice: Tensor, hw: tuple[int, int], gen: torch.Generator) -> Tensor:
    """Per-image (n, 2, 3) source->destination pixel matrices; identity where the op is not geometric."""
    n = choice.shape[0]
    centre = torch.tensor([[(hw[1] - 1) / 2.0, (hw[0] - 1) / 2.0]], device=gen.device).expand(n, 2)
    makers = {
        "crop": lambda: _crop_matrices(cfg, n, gen),
        "scale": lambda: _scale_matrices(cfg, n, gen, centre),
        "rotate": lambda: _rotate_matrices(cfg, n, gen, centre),
    }
    matrix = torch.eye(2, 3, device=gen.device).repeat(n, 1, 1)
    for k, op in enumerate(cfg.ops):
        if op in makers:
            matrix = torch.where((choice == k).view(n, 1, 1), makers[op](), matrix)
    return matrix


def require_batch(x: Tensor) -> None:
    """One-line error unless `x` is a (B, C, H, W) batch (both DC augmentations take only batches)."""
    if x.dim() != 4:
        raise ConfigError(f"DC augmentation expects a (B, C, H, W) batch, got shape {tuple(x.shape)}")


def dc_augment(x: Tensor, cfg: DCAugConfig, generator: torch.Generator) -> Tensor:
    """Augment a (B, C, H, W) batch: one op per image, per-image parameters, one batched warp."""
    require_batch(x)
    ops = cfg.ops
    if not ops or x.shape[0] == 0:
        return x
    n, hw = x.shape[0], (x.shape[-2], x.shape[-1])
    choice = torch.randint(0, len(ops), (n,), generator=generator, device=generator.device)
    if any(op != "noise" for op in ops):
        matrix = _matrices(cfg, choice, hw, generator)
        fill = x.detach().float().mean(dim=(0, 2, 3))

        def warp(im: Tensor, m: Tensor) -> Tensor:
            return warp_affine(im, m, hw, padding_mode="fill", fill_value=fill.to(im.dtype), align_corners=True)

        x = warp_in_float(warp, x, matrix)
    if "noise" in ops:
        noise = torch.randn(x.shape, generator=generator, device=generator.device).to(x.device, x.dtype)
        picked = (choice == ops.index("noise")).to(x.device, x.dtype).view(n, 1, 1, 1)
        x = x + cfg.noise * noise * picked
    return x
