"""MLP of the DC cross-architecture experiments: flatten -> 128 -> ReLU -> 128 -> ReLU -> linear."""
from __future__ import annotations

from torch import nn

from ._base import MODELS, FeatureClassifier, as_size, check_positive


@MODELS.register("mlp")
class MLP(FeatureClassifier):
    """Two hidden layers of `hidden` units; embed is the output of the second ReLU."""

    def __init__(
        self, in_channels: int, num_classes: int, im_size: tuple[int, int] | int, *, hidden: int = 128
    ) -> None:
        check_positive(in_channels=in_channels, num_classes=num_classes, hidden=hidden)
        h, w = as_size(im_size)
        features = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_channels * h * w, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
        )
        super().__init__(features, hidden, num_classes)
