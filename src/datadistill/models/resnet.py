"""ResNet-18 for small images (3 x 3 stride-1 stem, no stem pool) as in the DC code.

Instance norm (GroupNorm(C, C)) by default; resnet18_bn uses BatchNorm2d. Global average pooling makes
the 512-d embedding independent of the input size.
"""
from __future__ import annotations

from collections import OrderedDict
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from ._base import MODELS, FeatureClassifier, as_size, check_choice, check_positive, norm_2d


class BasicBlock(nn.Module):
    """Two 3 x 3 convs with a residual connection (1 x 1 projection when the shape changes)."""

    def __init__(self, in_planes: int, planes: int, stride: int, norm: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.norm1 = norm_2d(norm, planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.norm2 = norm_2d(norm, planes)
        self.shortcut: nn.Module = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), norm_2d(norm, planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """relu(norm2(conv2(relu(norm1(conv1(x))))) + shortcut(x))."""
        out = F.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


def _stage(in_planes: int, planes: int, blocks: int, stride: int, norm: str) -> nn.Sequential:
    layers = [BasicBlock(in_planes, planes, stride, norm)]
    layers += [BasicBlock(planes, planes, 1, norm) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


@MODELS.register("resnet18")
class ResNet18(FeatureClassifier):
    """BasicBlock x [2, 2, 2, 2] at widths 64-128-256-512, global average pool, linear."""

    def __init__(
        self, in_channels: int, num_classes: int, im_size: tuple[int, int] | int, *,
        norm: str = "instancenorm",
    ) -> None:
        check_positive(in_channels=in_channels, num_classes=num_classes)
        norm = check_choice("norm", norm, ("instancenorm", "batchnorm"))
        as_size(im_size)  # validated only: padded stride-2 convs never reach 0 x 0, the pool adapts
        features = nn.Sequential(OrderedDict(
            conv1=nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False),
            norm1=norm_2d(norm, 64),
            relu=nn.ReLU(inplace=True),
            layer1=_stage(64, 64, 2, 1, norm),
            layer2=_stage(64, 128, 2, 2, norm),
            layer3=_stage(128, 256, 2, 2, norm),
            layer4=_stage(256, 512, 2, 2, norm),
            pool=nn.AdaptiveAvgPool2d(1),
        ))
        super().__init__(features, 512, num_classes)


MODELS.register("resnet18_bn")(partial(ResNet18, norm="batchnorm"))
