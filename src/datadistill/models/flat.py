"""A network's trainable parameters as one flat vector, and the network as a function of that vector.

Expert trajectories store one flat tensor per epoch; MTT and DD run student networks as
`torch.func.functional_call(net, views_of(flat), x)`, so a whole unrolled training run is a chain of tensor
operations on flat vectors that autograd (or torch.func) differentiates end to end.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.func import functional_call

from ..errors import ConfigError


@dataclass(frozen=True)
class FlatLayout:
    """Names, shapes and sizes of a module's trainable parameters, in `named_parameters()` order."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, module: nn.Module) -> FlatLayout:
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        return cls(tuple(n for n, _ in named), tuple(tuple(p.shape) for _, p in named))

    @property
    def numels(self) -> list[int]:
        return [int(torch.Size(s).numel()) for s in self.shapes]

    @property
    def numel(self) -> int:
        return sum(self.numels)

    def flatten(self, module: nn.Module) -> Tensor:
        """The module's parameters concatenated (a detached copy)."""
        params = dict(module.named_parameters())
        return torch.cat([params[n].detach().reshape(-1) for n in self.names])

    def unflatten(self, flat: Tensor) -> dict[str, Tensor]:
        """Views of `flat` shaped as the parameters (differentiable: gradients flow back to `flat`)."""
        if flat.shape != (self.numel,):
            raise ConfigError(f"flat parameter vector has shape {tuple(flat.shape)}, expected ({self.numel},) "
                              "for this network; was it made with another model or model options?")
        return {n: t.view(s) for n, t, s in zip(self.names, torch.split(flat, self.numels), self.shapes)}

    def load_into(self, module: nn.Module, flat: Tensor) -> nn.Module:
        """Copy a flat vector into the module's parameters (in place); returns the module."""
        views = self.unflatten(flat)
        with torch.no_grad():
            for n, p in module.named_parameters():
                if n in views:
                    p.copy_(views[n])
        return module

    def to_dict(self) -> dict:
        return {"names": list(self.names), "shapes": [list(s) for s in self.shapes]}

    @classmethod
    def from_dict(cls, d: dict) -> FlatLayout:
        return cls(tuple(d["names"]), tuple(tuple(s) for s in d["shapes"]))


class FlatNet:
    """`net` called with a flat parameter vector: FlatNet(net)(flat, x) == net_with(flat)(x)."""

    def __init__(self, net: nn.Module) -> None:
        self.net = net
        self.layout = FlatLayout.of(net)

    def __call__(self, flat: Tensor, x: Tensor) -> Tensor:
        return functional_call(self.net, self.layout.unflatten(flat), (x,), strict=False)

    def initial(self) -> Tensor:
        """The network's current parameters as a flat vector."""
        return self.layout.flatten(self.net)
