"""Differentiating through unrolled SGD on synthetic images (MTT's student, DD's inner training).

A student network (a FlatNet: the network as a function of one flat parameter vector) starts at theta_0 and
takes steps theta_{i+1} = theta_i - lrs[k_i] * g_i, g_i = dCE(f(theta_i, A_i(X[I_i])), Y[I_i]) / dtheta, where
step i uses rows I_i of the synthetic images X, learned lr number k_i and augmentation A_i. A final loss
L(theta_N) is then differentiated w.r.t. X and lrs.

memory='plain' keeps the autograd graph of every step (memory grows with the number of steps).
memory='constant' keeps only the flat vectors theta_i and walks the steps backwards, rebuilding one step's
graph at a time (the chain rule written out; lambda = dL/dtheta):

    dL/dX[I_i]    += -lr (dg_i/dX)^T lambda_{i+1}
    dL/dlrs[k_i]  += -g_i . lambda_{i+1}
    lambda_i       = lambda_{i+1} - lr (dg_i/dtheta_i)^T lambda_{i+1}     (a Hessian-vector product)

It yields the plain unroll's gradient (tests check both against each other and against finite differences)
with memory of one step's graph plus one parameter vector per step. When the final loss is a BatchLoss (a mean
cross-entropy over a real batch), the constant mode also takes lambda_N = dL/dtheta_N in chunks of that batch
(the same sum), so the real batch costs the memory of one chunk.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..augment import dsa_apply
from ..errors import ConfigError
from ..models import has_batchnorm
from ..models.flat import FlatNet
from ..runtime import autocast

MEMORY_MODES = ("plain", "constant")


@dataclass(frozen=True)
class Step:
    """One student step: which synthetic rows, which learned lr, which augmentation draw (or None)."""

    rows: Tensor
    lr: int = 0
    aug: Any = None


def check_memory(memory: str) -> None:
    """One-line error for an unknown memory mode."""
    if memory not in MEMORY_MODES:
        raise ConfigError(f"memory must be one of {', '.join(MEMORY_MODES)}, got '{memory}'")


class BatchLoss:
    """L(theta) = mean CE(student(theta, x), y) over a real batch; `value_and_grad` accumulates it chunk by chunk.

    Chunking is exact only for per-sample networks, so a network with BatchNorm is taken whole (chunk 0).
    """

    def __init__(self, student: FlatNet, x: Tensor, y: Tensor, chunk: int = 0) -> None:
        self.student, self.x, self.y = student, x, y
        self.chunk = 0 if has_batchnorm(student.net) else chunk

    def __call__(self, theta: Tensor) -> Tensor:
        return F.cross_entropy(self.student(theta, self.x), self.y)

    def value_and_grad(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        """(L(theta), dL/dtheta) without a graph, holding one chunk's activations at a time."""
        n = len(self.y)
        size = self.chunk if 0 < self.chunk < n else n
        th = theta.detach().requires_grad_(True)
        total, grad = torch.zeros((), dtype=theta.dtype, device=theta.device), torch.zeros_like(theta)
        for s in range(0, n, size):
            loss = F.cross_entropy(self.student(th, self.x[s:s + size]), self.y[s:s + size], reduction="sum") / n
            grad += torch.autograd.grad(loss, th)[0]
            total += loss.detach()
        return total, grad


class Unroll:
    """Unrolled SGD of `student` on synthetic (images, labels) with learned lrs."""

    def __init__(self, student: FlatNet, device: torch.device, precision: str = "fp32") -> None:
        self.student, self.device, self.precision = student, device, precision

    def step_grad(self, theta: Tensor, x: Tensor, y: Tensor, aug: Any, create_graph: bool) -> Tensor:
        """g = dCE(student(theta, aug(x)), y) / dtheta."""
        xa = dsa_apply(x, aug) if aug is not None else x
        with autocast(self.device, self.precision):
            loss = F.cross_entropy(self.student(theta, xa), y)
        return torch.autograd.grad(loss, theta, create_graph=create_graph)[0]

    def train(self, theta0: Tensor, images: Tensor, labels: Tensor, lrs: Tensor, steps: list[Step]) -> Tensor:
        """theta_N without any graph (for evaluation and replay)."""
        theta = theta0.detach()
        for st in steps:
            th = theta.requires_grad_(True)
            g = self.step_grad(th, images[st.rows].detach(), labels[st.rows], st.aug, create_graph=False)
            theta = (th - lrs[st.lr].detach() * g).detach()
        return theta

    def gradients(self, theta0: Tensor, images: Tensor, labels: Tensor, lrs: Tensor, steps: list[Step],
                  final: Callable[[Tensor], Tensor], memory: str = "plain") -> tuple[float, Tensor, Tensor]:
        """(L(theta_N), dL/dimages, dL/dlrs) with `final` the loss of the last parameters."""
        check_memory(memory)
        if memory == "plain":
            return self._plain(theta0, images, labels, lrs, steps, final)
        return self._constant(theta0, images, labels, lrs, steps, final)

    def _plain(self, theta0, images, labels, lrs, steps, final) -> tuple[float, Tensor, Tensor]:
        x = images.detach().requires_grad_(True)
        lr = lrs.detach().requires_grad_(True)
        theta = theta0.detach().requires_grad_(True)
        for st in steps:
            g = self.step_grad(theta, x[st.rows], labels[st.rows], st.aug, create_graph=True)
            theta = theta - lr[st.lr] * g
        loss = final(theta)
        gx, glr = torch.autograd.grad(loss, (x, lr), allow_unused=True)
        return float(loss.detach()), _zeros_if_none(gx, x), _zeros_if_none(glr, lr)

    def _constant(self, theta0, images, labels, lrs, steps, final) -> tuple[float, Tensor, Tensor]:
        lr = lrs.detach()
        thetas = [theta0.detach()]
        for st in steps:  # forward without a graph, keeping only the parameter vectors
            th = thetas[-1].clone().requires_grad_(True)
            g = self.step_grad(th, images[st.rows].detach(), labels[st.rows], st.aug, create_graph=False)
            thetas.append((thetas[-1] - lr[st.lr] * g).detach())
        if isinstance(final, BatchLoss):
            loss, lam = final.value_and_grad(thetas[-1])
        else:
            last = thetas[-1].clone().requires_grad_(True)
            loss = final(last)
            lam = torch.autograd.grad(loss, last)[0].detach()
        g_x, g_lr = torch.zeros_like(images), torch.zeros_like(lr)
        for i in reversed(range(len(steps))):  # one step's graph at a time
            st = steps[i]
            th = thetas[i].clone().requires_grad_(True)
            xb = images[st.rows].detach().requires_grad_(True)
            g = self.step_grad(th, xb, labels[st.rows], st.aug, create_graph=True)
            v_th, v_x = torch.autograd.grad(g, (th, xb), grad_outputs=lam)
            g_lr[st.lr] -= (g.detach() * lam).sum()
            g_x.index_add_(0, st.rows, -lr[st.lr] * v_x)
            lam = lam - lr[st.lr] * v_th
        return float(loss.detach()), g_x, g_lr


def _zeros_if_none(g: Tensor | None, like: Tensor) -> Tensor:
    return torch.zeros_like(like) if g is None else g
