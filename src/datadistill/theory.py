"""The linear-regression bound of DD (Wang et al. 2018, Sec. 3.3), executable.

Data d (N x D), targets t (N), loss l(theta) = ||d theta - t||^2 / (2N). M distilled points (d~, t~) and a
learned lr eta~ give one GD step theta_1 = theta_0 - eta~ d~^T (d~ theta_0 - t~) / M. Reaching the least-squares
optimum from *every* theta_0 needs d^T d (I - eta~ d~^T d~ / M) = 0, i.e. d~^T d~ of rank D, so M >= D.
`distill_linear` learns (d~, t~, eta~) by gradient descent on the loss after one step, averaged over random
theta_0; `excess_loss` measures how far theta_1 stays from the optimum over fresh theta_0.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class LinearDistilled:
    """M distilled points, their targets and the learned lr."""

    d: Tensor
    t: Tensor
    lr: Tensor

    def step(self, theta0: Tensor) -> Tensor:
        """theta_1 for a batch of initial weights (B x D)."""
        m = len(self.d)
        resid = theta0 @ self.d.T - self.t  # B x M
        return theta0 - self.lr * resid @ self.d / m


def loss(d: Tensor, t: Tensor, theta: Tensor) -> Tensor:
    """Mean squared error /2 for a batch of weights (B x D) -> (B,)."""
    return ((theta @ d.T - t) ** 2).mean(-1) / 2


def distill_linear(d: Tensor, t: Tensor, m: int, generator: torch.Generator, iterations: int = 3000,
                   inits: int = 64, lr: float = 0.01) -> LinearDistilled:
    """Learn M points and an lr so that one GD step from random theta_0 ~ N(0, I) minimises the loss."""
    dim = d.shape[1]
    dd = (torch.randn(m, dim, generator=generator, dtype=d.dtype)).requires_grad_(True)
    tt = torch.zeros(m, dtype=d.dtype).requires_grad_(True)
    raw = torch.tensor(0.0, dtype=d.dtype).requires_grad_(True)
    opt = torch.optim.Adam([dd, tt, raw], lr=lr)
    for _ in range(iterations):
        theta0 = torch.randn(inits, dim, generator=generator, dtype=d.dtype)
        out = LinearDistilled(dd, tt, torch.nn.functional.softplus(raw)).step(theta0)
        obj = loss(d, t, out).mean()
        opt.zero_grad()
        obj.backward()
        opt.step()
    return LinearDistilled(dd.detach(), tt.detach(), torch.nn.functional.softplus(raw).detach())


def excess_loss(d: Tensor, t: Tensor, distilled: LinearDistilled, generator: torch.Generator,
                inits: int = 1000) -> float:
    """Mean loss after the distilled step over fresh theta_0, minus the least-squares optimum."""
    best = torch.linalg.lstsq(d, t.unsqueeze(1)).solution.squeeze(1)
    theta0 = torch.randn(inits, d.shape[1], generator=generator, dtype=d.dtype)
    return float(loss(d, t, distilled.step(theta0)).mean() - loss(d, t, best.unsqueeze(0)).mean())
