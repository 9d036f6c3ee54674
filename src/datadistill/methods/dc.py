"""Dataset Condensation with gradient matching, DC (Zhao, Mopuri & Bilen, ICLR 2021; papers/003).

Per class c the synthetic images S_c are moved to minimise D(grad_theta L(S_c), grad_theta L(T_c)) (Eq. 4,
distance of Eq. 5 in methods/matching.py) while theta follows a curriculum: re-initialised every outer
iteration, then `outer_loop` image updates alternating with `inner_loop` epochs of training on S (Alg. 1).
With dsa=True it is DSA (Zhao & Bilen, ICML 2021): the same sampled augmentation is applied, differentiably,
to T_c and S_c before both gradients are taken.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..augment import DSAConfig, dsa_apply, dsa_sample, dsa_strategy_for, make_augment
from ..evaluate.protocols import dc_protocol
from ..models import has_batchnorm
from ..runtime import autocast
from . import METHODS
from .base import ImageSetMethod, check_precision, initial_images
from .matching import DISTANCES

# (outer_loop, inner_loop) published per IPC; other IPCs take the nearest published IPC (ties: the smaller).
PUBLISHED_LOOPS = {1: (1, 1), 10: (10, 50), 20: (20, 25), 30: (30, 20), 40: (40, 15), 50: (50, 10)}


def loops_for_ipc(ipc: int) -> tuple[int, int]:
    """The published (outer_loop, inner_loop) for the nearest published IPC."""
    nearest = min(PUBLISHED_LOOPS, key=lambda k: (abs(k - ipc), k))
    return PUBLISHED_LOOPS[nearest]


@dataclass(frozen=True)
class DCConfig:
    """Defaults of the reference implementation (REFERENCE.md, 'Default hyper-parameters')."""

    lr_img: float = 0.1
    momentum_img: float = 0.5
    lr_net: float = 0.01
    batch_real: int = 256
    batch_train: int = 256
    outer_loop: int | None = None  # None: published value for the IPC
    inner_loop: int | None = None
    init: str = "noise"  # 'noise' (the paper), 'real' or a coreset selection ('herding', ...)
    distance: str = "ours"
    dsa: bool = False
    dsa_strategy: str | None = None  # None: the dataset's published strategy
    precision: str = "bf16"  # autocast for the real-gradient and network-update passes ('fp32' to disable)
    bn_images_per_class: int = 16


@dataclass(frozen=True)
class DSAPresetConfig(DCConfig):
    """DSA = DC + siamese augmentation, initialised from real images (the DSA reference)."""

    init: str = "real"
    dsa: bool = True


def freeze_bn_stats(net: nn.Module, real: torch.Tensor) -> None:
    """Set every BatchNorm's running statistics to those of `real` exactly, then put BN in eval mode."""
    bns = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: after one batch the stats are that batch's
    net.train()
    with torch.no_grad():
        net(real)
    for m in bns:
        m.eval()


@METHODS.register("dc")
class DC(ImageSetMethod):
    """Gradient matching with an outer/inner curriculum; DSA via config.dsa."""

    name: ClassVar[str] = "dc"
    config_cls: ClassVar[type] = DCConfig
    split_classes: ClassVar[bool] = True

    def init(self, generator: torch.Generator) -> None:
        """Noise or random real images per class; SGD(momentum) on the images."""
        cfg, ctx = self.config, self.ctx
        DISTANCES.get(cfg.distance)
        check_precision(cfg.precision)
        x, self.syn_labels = initial_images(ctx, cfg.init, generator)
        self.syn = x.requires_grad_(True)
        self.opt = torch.optim.SGD([self.syn], lr=cfg.lr_img, momentum=cfg.momentum_img)
        self.outer, self.inner = loops_for_ipc(ctx.ipc)
        self.outer, self.inner = cfg.outer_loop or self.outer, cfg.inner_loop or self.inner
        strategy = cfg.dsa_strategy or dsa_strategy_for(ctx.info.name)
        self.dsa_cfg = DSAConfig(strategy=strategy)
        self.train_aug = make_augment("dsa", ctx.info.name, strategy=strategy) if cfg.dsa else None
        self.distance = DISTANCES.get(cfg.distance)
        self.has_bn = has_batchnorm(self._new_net(generator))  # also fails early on a bad model name

    def _new_net(self, generator: torch.Generator) -> nn.Module:
        return self.ctx.new_net(generator)

    def step(self, iteration: int, generator: torch.Generator) -> dict[str, float]:
        """One outer iteration of Algorithm 1 with a freshly initialised network."""
        net = self._new_net(generator)
        net.train()
        params = [p for p in net.parameters() if p.requires_grad]
        net_opt = torch.optim.SGD(params, lr=self.config.lr_net)
        total = 0.0
        for ol in range(self.outer):
            if self.has_bn:
                freeze_bn_stats(net, self._real_batch(self.config.bn_images_per_class, generator).flatten(0, 1))
            total += self._match_and_update(net, params, generator)
            if ol == self.outer - 1:
                break
            self._train_net(net, net_opt, generator)
        return {"loss": total / (self.outer * self.ctx.info.num_classes)}

    def _real_batch(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """K x n real images (n capped by the smallest class)."""
        n = min(n, min(self.ctx.train.class_counts()))
        return self.ctx.train.sample_classes(n, generator).to(self.ctx.device)

    def _match_and_update(self, net: nn.Module, params: list[nn.Parameter], gen: torch.Generator) -> float:
        """Accumulate the class-wise matching loss into the image gradient, then one image SGD step."""
        cfg, ipc = self.config, self.ctx.ipc
        real = self._real_batch(cfg.batch_real, gen)
        self.opt.zero_grad(set_to_none=True)
        total = 0.0
        mine = self.my_classes()
        for c in range(self.ctx.info.num_classes):
            xr, xs = real[c], self.syn[c * ipc:(c + 1) * ipc]
            p = dsa_sample(self.dsa_cfg, xr.shape[-2:], gen) if cfg.dsa else None  # drawn for every class
            if c not in mine:  # another process's class (torchrun): same draws, no work
                continue
            if p is not None:
                xr, xs = dsa_apply(xr, p), dsa_apply(xs, p)
            with autocast(self.ctx.device, cfg.precision):
                loss_real = F.cross_entropy(net(xr), torch.full((len(xr),), c, device=xr.device))
            g_real = [g.detach().float() for g in torch.autograd.grad(loss_real, params)]
            loss_syn = F.cross_entropy(net(xs), self.syn_labels[c * ipc:(c + 1) * ipc])
            g_syn = torch.autograd.grad(loss_syn, params, create_graph=True)
            dist = self.distance(g_syn, g_real)
            dist.backward()  # per class: same image gradient as backward of the sum, less memory
            total += float(dist.detach())
        total = self.combine(total)
        self.opt.step()
        return total

    def _train_net(self, net: nn.Module, opt: torch.optim.Optimizer, gen: torch.Generator) -> None:
        """inner_loop epochs of SGD on the (detached) synthetic set, DSA-augmented when dsa is on."""
        x_all, y_all, bs = self.syn.detach(), self.syn_labels, self.config.batch_train
        net.train()
        for _ in range(self.inner):
            perm = torch.randperm(len(x_all), generator=gen).to(x_all.device)
            for s in range(0, len(x_all), bs):
                idx = perm[s:s + bs]
                x = self.train_aug(x_all[idx], gen) if self.train_aug else x_all[idx]
                with autocast(self.ctx.device, self.config.precision):
                    loss = F.cross_entropy(net(x), y_all[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

    @classmethod
    def variant(cls, method_config: dict[str, Any], schedule: dict[str, Any]) -> str:
        """A gradient distance other than the paper's layer-wise one is another row of its Table T4."""
        distance = method_config.get("distance", "ours")
        return "" if distance == "ours" else f"{distance} distance"

    def default_protocol(self) -> str:
        """DSA sets: dsa2021; DC: crop-scale-rotate augmentation on MNIST (paper App. A), else none."""
        if self.config.dsa:
            return "dsa2021"
        return dc_protocol(self.ctx.info.name)


@METHODS.register("dsa")
class DSA(DC):
    """DC with differentiable siamese augmentation and real initialisation (a preset of DC)."""

    name: ClassVar[str] = "dsa"
    config_cls: ClassVar[type] = DSAPresetConfig
