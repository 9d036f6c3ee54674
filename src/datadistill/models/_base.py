"""Shared pieces of the model families: the registry, the features -> linear skeleton, shape checks."""
from __future__ import annotations

from typing import Iterable, Sequence

import torch
from torch import nn

from ..errors import ConfigError
from ..registry import Registry

MODELS: Registry = Registry("model")

Shape = tuple[int, int, int]


class FeatureClassifier(nn.Module):
    """`features` -> flatten -> one linear `classifier`; `embed` exposes the flattened features."""

    def __init__(self, features: nn.Module, feature_dim: int, num_classes: int) -> None:
        super().__init__()
        self.features = features
        self.feature_dim = feature_dim
        # Built last, so modules() order equals construction order and init_weights(generator) draws
        # its numbers in the same sequence as PyTorch's default init does.
        self.classifier = nn.Linear(feature_dim, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Features before the final linear layer, flattened to N x feature_dim."""
        return self.features(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits N x num_classes."""
        return self.classifier(self.embed(x))


def as_size(im_size: tuple[int, int] | Sequence[int] | int) -> tuple[int, int]:
    """Normalise an image size given as an int or (H, W) to a tuple of two positive ints."""
    size = (im_size, im_size) if isinstance(im_size, int) else tuple(int(s) for s in im_size)
    if len(size) != 2 or min(size) < 1:
        raise ConfigError(f"im_size must be a positive int or (H, W), got {im_size!r}")
    return size  # type: ignore[return-value]


def check_choice(option: str, value: str, choices: Iterable[str]) -> str:
    """Return `value` lower-cased if it is one of `choices`, else raise a one-line ConfigError."""
    choices = tuple(choices)
    if value.lower() not in choices:
        raise ConfigError(f"unknown {option} '{value}'; known: {', '.join(choices)}")
    return value.lower()


def check_positive(**values: int) -> None:
    """Raise ConfigError naming the first argument that is not a positive int."""
    for key, value in values.items():
        if int(value) < 1:
            raise ConfigError(f"{key} must be >= 1, got {value}")


def _conv_side(n: int, k: int, s: int, p: int, d: int = 1) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def layer_shape(layer: nn.Module, shape: Shape) -> Shape:
    """Output C x H x W of one conv / pool layer (other layers keep the shape)."""
    c, h, w = shape
    if isinstance(layer, nn.Conv2d):
        args = zip((h, w), layer.kernel_size, layer.stride, layer.padding, layer.dilation)  # type: ignore[arg-type]
        h, w = (_conv_side(*a) for a in args)
        c = layer.out_channels
    elif isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
        k, s, p = (v if isinstance(v, tuple) else (v, v) for v in (layer.kernel_size, layer.stride, layer.padding))
        h, w = _conv_side(h, k[0], s[0], p[0]), _conv_side(w, k[1], s[1], p[1])
    return c, h, w


def walk_shape(layers: Iterable[nn.Module], shape: Shape, model: str) -> Shape:
    """Propagate C x H x W through `layers`; a side dropping below 1 raises a one-line ConfigError."""
    for layer in layers:
        new = layer_shape(layer, shape)
        if min(new[1:]) < 1:
            raise ConfigError(
                f"{model}: input {shape[1]}x{shape[2]} too small for {type(layer).__name__} "
                f"(would give {new[1]}x{new[2]}); use a larger im_size or a shallower model"
            )
        shape = new
    return shape


def norm_2d(kind: str, channels: int, shape: Shape | None = None) -> nn.Module:
    """The norm layers of the reference code; 'instancenorm' is GroupNorm(C, C) with affine."""
    if kind == "batchnorm":
        return nn.BatchNorm2d(channels)
    if kind == "instancenorm":
        return nn.GroupNorm(channels, channels, affine=True)
    if kind == "groupnorm":
        if channels % 4:
            raise ConfigError(f"groupnorm uses 4 groups; channels must be divisible by 4, got {channels}")
        return nn.GroupNorm(4, channels, affine=True)
    if kind == "layernorm" and shape is not None:
        return nn.LayerNorm(list(shape), elementwise_affine=True)
    raise ConfigError(f"unknown norm '{kind}'")
