"""Shared pieces of the model families: the registry, the features -> linear skeleton, shape checks."""
from __future__ import annotations

from typing import Iterable, Sequence

import torch
import torch.nn.functional as F
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


class _Pool2x2(torch.autograd.Function):
    """2x2 average pooling of an even-sized map; its backward is built from differentiable ops."""

    generate_vmap_rule = True  # usable under torch.func transforms (grad, vmap) as DD and MTT need

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        rows = x[..., 0::2, :] + x[..., 1::2, :]
        return (rows[..., 0::2] + rows[..., 1::2]) * 0.25

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:  # type: ignore[override]
        pass  # linear: the backward needs nothing saved

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        n, c, h, w = g.shape  # nearest 2x upsampling, columns then rows (2.6x faster than one 6-D expand)
        cols = (g * 0.25).unsqueeze(-1).expand(n, c, h, w, 2).reshape(n, c, h, 2 * w)
        return cols.unsqueeze(3).expand(n, c, h, 2, 2 * w).reshape(n, c, 2 * h, 2 * w)


class InputConv2d(nn.Conv2d):
    """A first-layer Conv2d computed as one batched matrix product per image under CPU autocast.

    With 1-3 input channels a convolution has little arithmetic per byte (9-27 multiply-adds per output) and
    oneDNN's direct kernels are slow on it in either precision. Under CPU autocast this layer unfolds each image
    into its k x k patches (C*k*k x H*W, plus a row of ones for the bias) and multiplies them with the weights in
    the autocast dtype (batched GEMM), giving an NCHW tensor in that dtype. Plain autograd ops, so the backward
    is two batched GEMMs as well, and double backward and torch.func work. Measured here (100 / 256 MNIST
    images, 1 -> 128 channels, forward + parameter gradients): 7 / 23 ms against 32 / 72 ms for the fp32 kernel
    (which the layer used before) and 28 / 74 ms for the bf16 one; the result is the bf16 convolution's (inputs
    rounded to bf16, fp32 accumulation). Without autocast, or for strided / dilated / grouped / non-zero-padded
    convolutions, it is exactly nn.Conv2d.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or not torch.is_autocast_enabled("cpu") or not self._unfoldable():
            return super().forward(x)
        dtype = torch.get_autocast_dtype("cpu")
        n, _, h, w = x.shape
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        with torch.autocast("cpu", enabled=False):
            cols = F.unfold(x.float(), self.kernel_size, padding=self.padding)  # N x Ckk x HW
            weight = self.weight.view(self.out_channels, -1)
            if self.bias is not None:  # the bias as one more weight column against a row of ones
                cols = torch.cat([cols, cols.new_ones(n, 1, cols.shape[-1])], 1)
                weight = torch.cat([weight, self.bias[:, None]], 1)
            out = torch.bmm(weight.to(dtype).expand(n, -1, -1), cols.to(dtype))
        return out.view(n, self.out_channels, h + 2 * ph - kh + 1, w + 2 * pw - kw + 1)

    def _unfoldable(self) -> bool:
        return (self.groups == 1 and self.stride == (1, 1) and self.dilation == (1, 1)
                and self.padding_mode == "zeros" and isinstance(self.padding, tuple))


class AvgPool2x2(nn.AvgPool2d):
    """Exactly AvgPool2d(2), computed as two strided pair sums with a broadcast backward.

    PyTorch's CPU avg_pool2d is slow in bf16 (measured here on 256x128x32x32, forward + backward: ~95 ms
    vs ~35 ms for this form). Equal to avg_pool2d up to float summation order; differentiable to any
    order (DC's double backward; gradgradcheck in tests/models).
    """

    def __init__(self) -> None:
        super().__init__(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
        if (h, w) != tuple(x.shape[-2:]):
            x = x[..., :h, :w]
        return _Pool2x2.apply(x)


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
