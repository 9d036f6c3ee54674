"""The 32 x 32 AlexNet of the DC code (five convs, three max-pools, one linear layer)."""
from __future__ import annotations

from functools import partial

from torch import nn

from ._base import MODELS, FeatureClassifier, as_size, check_choice, check_positive, norm_2d, walk_shape

# (out_channels, kernel, padding, max-pool after); the first padding depends on in_channels.
_CONVS = ((128, 5, None, True), (192, 5, 2, True), (256, 3, 1, False), (192, 3, 1, False), (192, 3, 1, True))


@MODELS.register("alexnet")
class AlexNet(FeatureClassifier):
    """AlexNet for small images; norm 'batchnorm' inserts BatchNorm2d after every conv."""

    def __init__(
        self, in_channels: int, num_classes: int, im_size: tuple[int, int] | int, *, norm: str = "none"
    ) -> None:
        check_positive(in_channels=in_channels, num_classes=num_classes)
        norm = check_choice("norm", norm, ("none", "batchnorm"))
        layers: list[nn.Module] = []
        c = in_channels
        for out, k, pad, pool in _CONVS:
            pad = (4 if in_channels == 1 else 2) if pad is None else pad
            layers.append(nn.Conv2d(c, out, kernel_size=k, padding=pad))
            if norm != "none":
                layers.append(norm_2d(norm, out))
            layers.append(nn.ReLU(inplace=True))
            if pool:
                layers.append(nn.MaxPool2d(2))
            c = out
        c, h, w = walk_shape(layers, (in_channels, *as_size(im_size)), "alexnet")
        super().__init__(nn.Sequential(*layers), c * h * w, num_classes)


MODELS.register("alexnet_bn")(partial(AlexNet, norm="batchnorm"))
