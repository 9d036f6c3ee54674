"""The ConvNet of DC / DSA / DM / MTT: depth x [conv3x3 -> norm -> act -> pool 2x2] -> linear.

Zhao et al., "Dataset Condensation with Gradient Matching" (ICLR 2021), and the ablation variants of its
public code (width, depth, activation, norm, pooling).
"""
from __future__ import annotations

import math
from functools import partial

from torch import nn

from ._base import (
    MODELS,
    AvgPool2x2,
    FeatureClassifier,
    InputConv2d,
    Shape,
    as_size,
    check_choice,
    check_positive,
    norm_2d,
    walk_shape,
)

ACTS = ("relu", "leakyrelu", "sigmoid")
NORMS = ("none", "batchnorm", "layernorm", "instancenorm", "groupnorm")
POOLINGS = ("none", "maxpooling", "avgpooling")


def _act(kind: str) -> nn.Module:
    if kind == "relu":
        return nn.ReLU(inplace=True)  # safe: no preceding layer needs its output for backward
    if kind == "leakyrelu":
        return nn.LeakyReLU(negative_slope=0.01)
    return nn.Sigmoid()


def _pool(kind: str) -> nn.Module | None:
    if kind == "maxpooling":
        return nn.MaxPool2d(2)
    if kind == "avgpooling":
        return AvgPool2x2()
    return None


def _block(
    width: int, padding: int, opts: tuple[str, str, str], shape: Shape
) -> tuple[list[nn.Module], Shape]:
    """One conv -> norm -> act -> pool block and the C x H x W it outputs."""
    act, norm, pooling = opts
    conv_cls = InputConv2d if shape[0] <= 3 else nn.Conv2d  # fp32 under CPU autocast (see InputConv2d)
    conv = conv_cls(shape[0], width, kernel_size=3, padding=padding)
    shape = walk_shape([conv], shape, "convnet")
    layers: list[nn.Module] = [conv]
    if norm != "none":
        layers.append(norm_2d(norm, width, shape))  # layernorm normalises over (C, H, W) like the reference
    layers.append(_act(act))
    pool = _pool(pooling)
    if pool is not None:
        shape = walk_shape([pool], shape, "convnet")
        layers.append(pool)
    return layers, shape


def default_depth(size: tuple[int, int]) -> int:
    """3 (the papers' ConvNet) for sides >= 16; fewer blocks for tiny images so the last map stays >= 2x2.

    Measured on the 8x8 UCI digits: with depth 3 the last instance norm sees 2x2 maps and DC's matching loss
    does not decrease (28% after 100 iterations vs 71% for random real); depth 2 reaches 88%.
    """
    return max(1, min(3, int(math.log2(min(size))) - 1))


class ConvNet(FeatureClassifier):
    """ConvNet-{width}-{depth}; the first conv pads 3 on 1 x 28 x 28 input so MNIST behaves as 32 x 32."""

    def __init__(
        self, in_channels: int, num_classes: int, im_size: tuple[int, int] | int, *,
        width: int = 128, depth: int | None = None, act: str = "relu", norm: str = "instancenorm",
        pooling: str = "avgpooling",
    ) -> None:
        size = as_size(im_size)
        depth = default_depth(size) if depth is None else depth
        check_positive(in_channels=in_channels, num_classes=num_classes, width=width, depth=depth)
        opts = (check_choice("act", act, ACTS), check_choice("norm", norm, NORMS),
                check_choice("pooling", pooling, POOLINGS))
        shape: Shape = (in_channels, *size)
        layers: list[nn.Module] = []
        for d in range(depth):
            padding = 3 if d == 0 and in_channels == 1 and size == (28, 28) else 1
            block, shape = _block(width, padding, opts, shape)
            layers += block
        super().__init__(nn.Sequential(*layers), shape[0] * shape[1] * shape[2], num_classes)


MODELS.register("convnet")(ConvNet)

_VARIANTS: dict[str, dict[str, object]] = {
    "convnet_bn": {"norm": "batchnorm"},
    "convnet_ln": {"norm": "layernorm"},
    "convnet_gn": {"norm": "groupnorm"},
    "convnet_nn": {"norm": "none"},
    "convnet_mp": {"pooling": "maxpooling"},
    "convnet_np": {"pooling": "none"},
    "convnet_as": {"act": "sigmoid"},
    "convnet_al": {"act": "leakyrelu"},
    **{f"convnet_d{d}": {"depth": d} for d in (1, 2, 3, 4)},
    **{f"convnet_w{w}": {"width": w} for w in (32, 64, 256)},
}

for _name, _overrides in _VARIANTS.items():
    MODELS.register(_name)(partial(ConvNet, **_overrides))

__all__ = ["ConvNet", "ACTS", "NORMS", "POOLINGS"]
