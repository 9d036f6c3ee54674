"""VGG-11 of the DC code: instance norm (GroupNorm(C, C)) by default, batch norm for vgg11_bn.

Five 2 x 2 max-pools: the input (after the MNIST padding of the first conv) must be at least 32 x 32,
else construction raises ConfigError rather than silently changing the architecture.
"""
from __future__ import annotations

from functools import partial

from torch import nn

from ._base import MODELS, FeatureClassifier, as_size, check_choice, check_positive, norm_2d, walk_shape

CFG_VGG11 = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


@MODELS.register("vgg11")
class VGG11(FeatureClassifier):
    """conv3x3 -> norm -> ReLU stacks with max-pools; linear over 512 x final spatial size."""

    def __init__(
        self, in_channels: int, num_classes: int, im_size: tuple[int, int] | int, *,
        norm: str = "instancenorm",
    ) -> None:
        check_positive(in_channels=in_channels, num_classes=num_classes)
        norm = check_choice("norm", norm, ("instancenorm", "batchnorm"))
        size = as_size(im_size)
        layers: list[nn.Module] = []
        c = in_channels
        for item in CFG_VGG11:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
                continue
            pad = 3 if not layers and in_channels == 1 and size == (28, 28) else 1
            layers += [nn.Conv2d(c, int(item), kernel_size=3, padding=pad), norm_2d(norm, int(item)),
                       nn.ReLU(inplace=True)]
            c = int(item)
        c, h, w = walk_shape(layers, (in_channels, *size), "vgg11")
        super().__init__(nn.Sequential(*layers), c * h * w, num_classes)


MODELS.register("vgg11_bn")(partial(VGG11, norm="batchnorm"))
