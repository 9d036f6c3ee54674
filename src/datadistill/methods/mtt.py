"""Matching Training Trajectories, MTT (Cazenavette et al., CVPR 2022; papers/004).

Each iteration samples an expert trajectory and a start epoch t in [0, max_start_epoch] (inclusive, as the
paper states), starts a student at theta*_t and takes `syn_steps` SGD steps on mini-batches of the synthetic
set with the learned lr alpha (DSA on every student batch). The loss is the normalised distance

    L = ||theta_N - theta*_{t+M}||^2 / ||theta*_t - theta*_{t+M}||^2,      M = expert_epochs

and its gradient flows back through all N student steps into the images and alpha (image SGD with momentum
0.5, alpha SGD with momentum 0.5, the reference's optimisers). The student is the network evaluated on a flat
parameter vector (torch.func.functional_call, models/flat.py).

memory='plain' keeps the autograd graph of all N steps (memory grows with N, as in the reference);
memory='constant' recomputes one step's graph at a time going backwards, with the same gradient (unroll.py).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import torch
from torch import Tensor

from ..augment import DSAConfig, dsa_sample, dsa_strategy_for
from ..errors import ConfigError
from ..experts import ExpertBuffer
from ..models.flat import FlatNet
from . import METHODS
from .base import ImageSetMethod, check_precision, initial_images, load_sgd_state, sgd_state
from .unroll import Step, Unroll, check_memory

# Published CIFAR-10 settings per IPC (REFERENCE.md): other IPCs take the nearest published one (ties: smaller).
PUBLISHED = {
    1: {"syn_steps": 50, "expert_epochs": 2, "max_start_epoch": 2, "lr_img": 100.0, "lr_lr": 1e-7,
        "lr_teacher": 0.01},
    10: {"syn_steps": 30, "expert_epochs": 2, "max_start_epoch": 20, "lr_img": 100.0, "lr_lr": 1e-5,
         "lr_teacher": 0.001},
    50: {"syn_steps": 30, "expert_epochs": 2, "max_start_epoch": 40, "lr_img": 1000.0, "lr_lr": 1e-5,
         "lr_teacher": 0.001},
}


def published_settings(ipc: int) -> dict[str, float]:
    """The published settings of the nearest published IPC."""
    return dict(PUBLISHED[min(PUBLISHED, key=lambda k: (abs(k - ipc), k))])


@dataclass(frozen=True)
class MTTConfig:
    """MTT options; None means the published value for the IPC (PUBLISHED)."""

    expert_dir: str | None = None  # an expert buffer folder (datadistill experts ...); required
    syn_steps: int | None = None
    expert_epochs: int | None = None
    max_start_epoch: int | None = None
    lr_img: float | None = None
    lr_lr: float | None = None
    lr_teacher: float | None = None  # initial learned lr
    momentum_img: float = 0.5
    momentum_lr: float = 0.5
    batch_syn: int | None = None  # student mini-batch; None: the whole synthetic set every step
    init: str = "real"  # 'real' (the paper), 'noise' or a coreset selection ('herding', ...)
    dsa: bool = True
    dsa_strategy: str | None = None
    memory: str = "plain"  # 'plain' (graph of all steps) or 'constant' (recompute one step at a time)
    precision: str = "fp32"  # autocast of the student passes ('bf16' trades exactness for speed)

    def resolved(self, ipc: int) -> MTTConfig:
        """Fill the None settings from the nearest published IPC."""
        pub = published_settings(ipc)
        return replace(self, **{k: v for k, v in pub.items() if getattr(self, k) is None})


@METHODS.register("mtt")
class MTT(ImageSetMethod):
    """Trajectory matching against a buffer of expert trajectories."""

    name: ClassVar[str] = "mtt"
    config_cls: ClassVar[type] = MTTConfig
    default_iterations: ClassVar[int] = 5000

    def init(self, generator: torch.Generator) -> None:
        """Check the buffer against the run, then real (or noise) images, the learned lr and optimisers."""
        ctx = self.ctx
        cfg = self.config = self.config.resolved(ctx.ipc)
        check_precision(cfg.precision)
        check_memory(cfg.memory)
        if cfg.expert_dir is None:
            raise ConfigError("mtt needs an expert buffer: pass expert_dir=PATH (train one with "
                              "`datadistill experts --dataset ... --out PATH`)")
        self.buffer = ExpertBuffer(cfg.expert_dir)
        if len(self.buffer) == 0:
            raise ConfigError(f"expert buffer {cfg.expert_dir} holds no experts yet")
        self.buffer.check_compatible(ctx.info, ctx.model, ctx.model_kw, ctx.zca)
        self.buffer.snapshots(0, [cfg.max_start_epoch + cfg.expert_epochs])  # range check, one-line error
        x, self.syn_labels = initial_images(ctx, cfg.init, generator)
        self.syn = x.requires_grad_(True)
        self.syn_lr = torch.tensor(float(cfg.lr_teacher), device=ctx.device).requires_grad_(True)
        self.opt = torch.optim.SGD([self.syn], lr=cfg.lr_img, momentum=cfg.momentum_img)
        self.opt_lr = torch.optim.SGD([self.syn_lr], lr=cfg.lr_lr, momentum=cfg.momentum_lr)
        net = ctx.new_net(generator)
        net.train()
        self.student = FlatNet(net)
        self.unroll = Unroll(self.student, ctx.device, cfg.precision)
        if self.student.layout != self.buffer.layout:
            raise ConfigError(f"expert buffer {cfg.expert_dir} parameters do not fit {ctx.model} "
                              f"{ctx.model_kw}; use the model the experts were trained with")
        self.dsa_cfg = DSAConfig(strategy=cfg.dsa_strategy or dsa_strategy_for(ctx.info.name))

    # ------------------------------------------------------------------ one iteration

    def _plan(self, gen: torch.Generator) -> tuple[Tensor, Tensor, list[Tensor], list]:
        """Expert snapshots and, per student step, the batch indices and DSA parameters (all from gen)."""
        cfg = self.config
        expert = int(torch.randint(len(self.buffer), (1,), generator=gen))
        start = int(torch.randint(cfg.max_start_epoch + 1, (1,), generator=gen))
        theta0, target = self.buffer.snapshots(expert, [start, start + cfg.expert_epochs])
        n = len(self.syn_labels)
        b = min(cfg.batch_syn or n, n)
        batches: list[Tensor] = []
        while len(batches) < cfg.syn_steps:
            batches.extend(torch.split(torch.randperm(n, generator=gen), b))
        batches = batches[:cfg.syn_steps]
        hw = self.syn.shape[-2:]
        augs = [dsa_sample(self.dsa_cfg, hw, gen, per_image=True, n=len(ix)) if cfg.dsa else None
                for ix in batches]
        dev = self.ctx.device
        return theta0.to(dev), target.to(dev), [ix.to(dev) for ix in batches], augs

    def loss_and_grads(self, gen: torch.Generator) -> float:
        """Compute the MTT loss and leave its gradient in syn.grad and syn_lr.grad; returns the loss."""
        theta0, target, batches, augs = self._plan(gen)
        denom = ((theta0 - target) ** 2).sum()
        steps = [Step(ix, 0, aug) for ix, aug in zip(batches, augs)]
        loss, g_syn, g_lr = self.unroll.gradients(theta0, self.syn, self.syn_labels, self.syn_lr.reshape(1), steps,
                                                  lambda theta: ((theta - target) ** 2).sum() / denom,
                                                  self.config.memory)
        self.syn.grad, self.syn_lr.grad = g_syn, g_lr.reshape(())
        return loss

    def step(self, iteration: int, generator: torch.Generator) -> dict[str, float]:
        """One MTT iteration: loss, gradient through the student steps, SGD on images and lr."""
        loss = self.loss_and_grads(generator)
        self.opt.step()
        self.opt_lr.step()
        return {"loss": loss, "syn_lr": float(self.syn_lr.detach())}

    # ------------------------------------------------------------------ state

    def learned_lrs(self) -> Tensor:
        return self.syn_lr.detach().reshape(1).cpu()

    def state_tensors(self) -> dict[str, Tensor]:
        return {**super().state_tensors(), "syn_lr": self.syn_lr.detach().reshape(1).clone(),
                **sgd_state(self.opt_lr, "opt_lr")}

    def load_state_tensors(self, tensors: dict[str, Tensor]) -> None:
        super().load_state_tensors(tensors)
        with torch.no_grad():
            self.syn_lr.copy_(tensors["syn_lr"].reshape(()).to(self.syn_lr.device))
        load_sgd_state(self.opt_lr, "opt_lr", tensors)

    def default_protocol(self) -> str:
        """The MTT protocol: the learned lr, DSA, 1000 epochs."""
        return "mtt2022"
