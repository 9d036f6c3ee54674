"""Train M evaluation networks together: stacked parameters, one vmapped forward/backward per step.

Evaluating a distilled set trains many small networks on a tiny set, which leaves the CPU mostly idle per
model. Here the M models' parameters are stacked (torch.func.stack_module_state) and every step runs all M
forward and backward passes as one vmapped call, followed by one SGD update on the stacked tensors.

Same results as training one by one: model i is initialised from make_generator(seed, 'eval', model, i) and
draws its batch order and augmentation from that same generator in the same order as the sequential loop
(train.train_network), and the update is torch.optim.SGD's (momentum, weight decay, dampening 0). Only the
float summation order of the batched kernels differs. Networks with BatchNorm in train mode cannot be
vmapped (their statistics are per call); callers fall back to the sequential path (see `batchable`).
"""
from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from ..data.base import RealData
from ..models import has_batchnorm
from ..runtime import autocast
from .protocols import Protocol, lr_for_epoch

Augment = Callable[[Tensor, torch.Generator], Tensor]


def batchable(net: nn.Module) -> bool:
    """True when M copies of `net` can be trained as one vmapped model (no BatchNorm, no buffers)."""
    return not has_batchnorm(net) and not any(True for _ in net.buffers())


class StackedModels:
    """M models of one architecture as stacked parameter tensors with a vmapped forward."""

    def __init__(self, nets: list[nn.Module]) -> None:
        self.params, _ = stack_module_state(nets)
        self.params = {k: v.detach().clone().requires_grad_(True) for k, v in self.params.items()}
        self.base = copy.deepcopy(nets[0]).to("meta")
        self.m = len(nets)

    def _call(self, params: dict[str, Tensor], x: Tensor) -> Tensor:
        return functional_call(self.base, params, (x,))

    def forward(self, x: Tensor, shared: bool = False) -> Tensor:
        """(M, B, ...) -> (M, B, classes); shared=True feeds the same (B, ...) batch to every model."""
        return vmap(self._call, in_dims=(0, None if shared else 0))(self.params, x)

    def load_into(self, nets: list[nn.Module]) -> list[nn.Module]:
        """Copy model i's parameters back into nets[i]."""
        with torch.no_grad():
            for i, net in enumerate(nets):
                for name, p in net.named_parameters():
                    p.copy_(self.params[name][i])
        return nets


def _sgd_step(params: dict[str, Tensor], grads: dict[str, Tensor], bufs: dict[str, Tensor], lr: float,
              momentum: float, weight_decay: float) -> None:
    """torch.optim.SGD's update (dampening 0, no nesterov) on stacked tensors, in place."""
    with torch.no_grad():
        for k, p in params.items():
            d = grads[k] + weight_decay * p if weight_decay else grads[k]
            if momentum:
                d = bufs[k].mul_(momentum).add_(d) if k in bufs else bufs.setdefault(k, d.clone())
            p.sub_(lr * d)


def train_batched(nets: list[nn.Module], x: Tensor, y: Tensor, proto: Protocol, gens: list[torch.Generator],
                  lr: float | None = None, augment: Augment | None = None) -> list[nn.Module]:
    """train.train_network for every (net, generator) pair at once; returns the trained nets."""
    base_lr = proto.lr if lr is None else lr
    device = next(nets[0].parameters()).device
    x, y = x.to(device), y.to(device)
    stack = StackedModels([n.train() for n in nets])
    bufs: dict[str, Tensor] = {}
    names = list(stack.params)
    for epoch in range(proto.epochs):
        step_lr = lr_for_epoch(proto, base_lr, epoch)
        perms = [torch.randperm(len(x), generator=g).to(device) for g in gens]
        for s in range(0, len(x), proto.batch_size):
            idx = torch.stack([p[s:s + proto.batch_size] for p in perms])  # (M, B)
            xb = torch.stack([augment(x[i], g) if augment else x[i] for i, g in zip(idx, gens)])
            with autocast(device, proto.precision):
                logits = stack.forward(xb)
                loss = F.cross_entropy(logits.flatten(0, 1).float(), y[idx].flatten(), reduction="none")
                loss = loss.view(len(nets), -1).mean(1).sum()  # each model's mean loss; models independent
            grads = torch.autograd.grad(loss, [stack.params[k] for k in names])
            _sgd_step(stack.params, dict(zip(names, grads)), bufs, step_lr, proto.momentum, proto.weight_decay)
    return stack.load_into(nets)


@torch.no_grad()
def test_accuracies(nets: list[nn.Module], test: RealData, batch: int = 1000, precision: str = "fp32") -> list[float]:
    """Top-1 accuracy (%) of every net on the test split, all nets in one vmapped pass per test batch."""
    stack = StackedModels([n.eval() for n in nets])
    device = next(nets[0].parameters()).device
    correct = torch.zeros(len(nets), dtype=torch.long)
    batch = max(1, batch // len(nets))  # M models x batch images per pass, as one batch of `batch` images
    for s in range(0, len(test), batch):
        xb = test.images[s:s + batch].to(device)
        with autocast(device, precision):
            pred = stack.forward(xb, shared=True).argmax(-1).cpu()  # (M, B)
        correct += (pred == test.labels[s:s + batch]).sum(1)
    return [100.0 * int(c) / max(1, len(test)) for c in correct]
