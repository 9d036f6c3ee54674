"""LeNet-5 as used by DD (Wang et al. 2018) and the DC cross-architecture table."""
from __future__ import annotations

from torch import nn

from ._base import MODELS, FeatureClassifier, as_size, check_positive, walk_shape


@MODELS.register("lenet")
class LeNet(FeatureClassifier):
    """conv5(6) -> pool -> conv5(16) -> pool -> 120 -> 84 -> linear; embed is the 84-d layer."""

    def __init__(self, in_channels: int, num_classes: int, im_size: tuple[int, int] | int) -> None:
        check_positive(in_channels=in_channels, num_classes=num_classes)
        convs = [
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=2 if in_channels == 1 else 0),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        ]
        c, h, w = walk_shape(convs, (in_channels, *as_size(im_size)), "lenet")
        features = nn.Sequential(
            *convs,
            nn.Flatten(),
            nn.Linear(c * h * w, 120),
            nn.ReLU(inplace=True),
            nn.Linear(120, 84),
            nn.ReLU(inplace=True),
        )
        super().__init__(features, 84, num_classes)
