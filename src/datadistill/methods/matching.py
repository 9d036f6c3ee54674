"""Gradient-matching distances of Zhao et al. 2021 (Eq. 4 and the ablation of Table 6)."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..registry import Registry

Grads = Sequence[torch.Tensor]
DISTANCES: Registry[Callable[[Grads, Grads], torch.Tensor]] = Registry("gradient distance")


def _layer_distance(gs: torch.Tensor, gr: torch.Tensor) -> torch.Tensor:
    """sum over output channels of (1 - cos) between rows of a layer's gradients; 0 for 1-D (bias, norm)."""
    if gs.ndim == 1:
        return gs.new_zeros(())
    gs, gr = gs.reshape(gs.shape[0], -1), gr.reshape(gr.shape[0], -1)
    cos = (gs * gr).sum(-1) / (gs.norm(dim=-1) * gr.norm(dim=-1) + 1e-6)
    return (1 - cos).sum()


@DISTANCES.register("ours", "layerwise")
def layerwise_distance(g_syn: Grads, g_real: Grads) -> torch.Tensor:
    """The paper's distance: per layer, per output channel 1 - cosine, summed; biases ignored."""
    return torch.stack([_layer_distance(s, r) for s, r in zip(g_syn, g_real)]).sum()


@DISTANCES.register("mse", "euclidean")
def euclidean_distance(g_syn: Grads, g_real: Grads) -> torch.Tensor:
    """Squared euclidean distance between the flattened gradient vectors (ablation)."""
    return sum(((s - r) ** 2).sum() for s, r in zip(g_syn, g_real))


@DISTANCES.register("cos", "cosine")
def cosine_distance(g_syn: Grads, g_real: Grads) -> torch.Tensor:
    """1 - cosine between the whole flattened gradient vectors (ablation). One term per class where the layer-wise
    distance has one per output channel of every layer: at the same image learning rate its image gradients are
    some 400x smaller on the ConvNet (docs/results.md), so images from noise hardly move."""
    s = torch.cat([g.reshape(-1) for g in g_syn])
    r = torch.cat([g.reshape(-1) for g in g_real])
    return 1 - (s * r).sum() / (s.norm() * r.norm() + 1e-6)
