"""Distribution matching, DM (Zhao & Bilen, WACV 2023; papers/002).

Every iteration samples a fresh, randomly initialised and frozen network psi and moves the synthetic images so
that, per class c, the mean embedding of S_c matches that of a real batch T_c:

    L = sum_c || mean_{x in T_c} psi(A_c(x)) - mean_{s in S_c} psi(A_c(s)) ||^2

where A_c is one DSA draw shared by T_c and S_c (siamese) and fresh for every class. No bi-level loop: one
image SGD step per iteration.

Speed: the real embeddings need no gradient, so they run without autograd (bf16 autocast by default) and, for
networks without BatchNorm, all classes go through the network in one batched pass instead of K passes; the
loss is the same sum. BatchNorm networks keep the per-class passes, because batch statistics over mixed
classes would change the loss.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from ..augment import DSAConfig, dsa_apply, dsa_sample, dsa_strategy_for
from ..models import has_batchnorm
from ..runtime import CompiledEmbed, autocast
from . import METHODS
from .base import ImageSetMethod, check_precision, initial_images

REAL_CHUNK = 512  # images per gradient-free forward pass (cache-sized; measured 1.0 s vs 2.3 s for 2560 at once)


def _eager_embed(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return net.embed(x)


@dataclass(frozen=True)
class DMConfig:
    """Defaults of the reference implementation (REFERENCE.md, 'Default hyper-parameters')."""

    lr_img: float = 1.0
    momentum_img: float = 0.5
    batch_real: int = 256
    init: str = "real"  # 'real' (the paper), 'noise' or a coreset selection ('herding', ...)
    dsa: bool = True
    dsa_strategy: str | None = None  # None: the dataset's published strategy
    precision: str = "bf16"  # autocast for the (gradient-free) real embeddings; 'fp32' to disable
    syn_precision: str = "bf16"  # autocast for the synthetic embeddings and their backward (fp32 to disable)
    batched: bool = True  # one network pass for all classes when the network has no BatchNorm
    compile: bool = False  # torch.compile the gradient-free real embedding (runtime.CompiledEmbed; measured 1.19x)


@METHODS.register("dm")
class DM(ImageSetMethod):
    """Mean-embedding matching under random frozen networks."""

    name: ClassVar[str] = "dm"
    config_cls: ClassVar[type] = DMConfig
    default_iterations: ClassVar[int] = 20000
    split_classes: ClassVar[bool] = True

    def init(self, generator: torch.Generator) -> None:
        """Real (or noise) images per class; SGD(momentum) on the images."""
        cfg, ctx = self.config, self.ctx
        check_precision(cfg.precision)
        check_precision(cfg.syn_precision)
        self.dsa_cfg = DSAConfig(strategy=cfg.dsa_strategy or dsa_strategy_for(ctx.info.name))
        x, self.syn_labels = initial_images(ctx, cfg.init, generator)
        self.syn = x.requires_grad_(True)
        self.opt = torch.optim.SGD([self.syn], lr=cfg.lr_img, momentum=cfg.momentum_img)
        template = self._new_net(generator)  # also fails early on a bad model name
        self.has_bn = has_batchnorm(template)
        self._real_embed = CompiledEmbed(template) if cfg.compile else _eager_embed

    def _new_net(self, generator: torch.Generator) -> nn.Module:
        net = self.ctx.new_net(generator)
        net.train()  # the reference embeds in train mode (BatchNorm uses batch statistics)
        for p in net.parameters():
            p.requires_grad_(False)
        return net

    def _augment(self, real: torch.Tensor, syn: torch.Tensor, gen: torch.Generator) -> tuple[list, list]:
        """Per class one siamese DSA draw (classes in order), applied to T_c and S_c of this process's classes."""
        mine = self.my_classes()
        reals, syns = [real[c] for c in mine], [syn[c] for c in mine]
        if self.config.dsa:
            for c in range(len(real)):  # drawn for every class, so all processes stay in step
                p = dsa_sample(self.dsa_cfg, real[c].shape[-2:], gen)
                if c in mine:
                    j = mine.index(c)
                    reals[j], syns[j] = dsa_apply(reals[j], p), dsa_apply(syns[j], p)
        return reals, syns

    def loss(self, gen: torch.Generator) -> torch.Tensor:
        """The DM loss for one iteration (network, real batch and augmentation drawn from `gen`).

        In a torchrun job it is this process's classes' share of the loss (see distributed.py).
        """
        cfg, ctx = self.config, self.ctx
        net = self._new_net(gen)
        k, ipc = ctx.info.num_classes, ctx.ipc
        n_real = min(cfg.batch_real, min(ctx.train.class_counts()))
        real = ctx.train.sample_classes(n_real, gen).to(ctx.device)  # K x n x C x H x W
        reals, syns = self._augment(real, self.syn.view(k, ipc, *self.syn.shape[1:]), gen)
        k = len(reals)  # the classes this process computes
        if k == 0:  # more processes than classes
            return self.syn.sum() * 0.0
        if cfg.batched and not self.has_bn:
            with torch.no_grad(), autocast(ctx.device, cfg.precision):
                x = torch.cat(reals)  # chunks of REAL_CHUNK images: 2.3x faster than one 2560-image pass on CPU
                emb = torch.cat([self._real_embed(net, x[i:i + REAL_CHUNK]).float()
                                 for i in range(0, len(x), REAL_CHUNK)])
                mu_real = emb.view(k, n_real, -1).mean(1)
            with autocast(ctx.device, cfg.syn_precision):
                mu_syn = net.embed(torch.cat(syns)).float().view(k, ipc, -1).mean(1)
            return ((mu_real - mu_syn) ** 2).sum()
        total = self.syn.new_zeros(())
        for c in range(k):
            with torch.no_grad(), autocast(ctx.device, cfg.precision):
                mu_real = self._real_embed(net, reals[c]).float().mean(0)
            with autocast(ctx.device, cfg.syn_precision):
                mu_syn = net.embed(syns[c]).float().mean(0)
            total = total + ((mu_real - mu_syn) ** 2).sum()
        return total

    def step(self, iteration: int, generator: torch.Generator) -> dict[str, float]:
        """One image SGD step on the DM loss under a fresh random network."""
        loss = self.loss(generator)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        total = self.combine(float(loss.detach()))
        self.opt.step()
        return {"loss": total / self.ctx.info.num_classes}

    def default_protocol(self) -> str:
        """DM evaluates with DSA augmentation for 1000 epochs (the DSA/DM protocol)."""
        return "dm2023" if self.config.dsa else "dc2021"
