"""Dataset Distillation, DD (Wang, Zhu, Torralba & Efros 2018; papers/001, notes in papers/000).

The synthetic set is a sequence of `steps` batches (each `ipc / steps` images per class) used for `epochs`
passes; every (epoch, step) has its own learned lr eta = softplus(raw) (Sec. 3.4). From an initialisation
theta_0 (Sec. 3.5: fixed, random Xavier, fixed or random pre-trained) the network takes the GD steps

    theta_{i+1} = theta_i - eta_i grad_theta l(x~_i, theta_i)                               (Eq. 2, 6)

and the images and raw lrs minimise the loss of theta_N on a batch of real data (Eq. 3, 5), averaged over the
sampled initialisations, with Adam (lr 0.01, betas 0.5 / 0.999) and a step decay (x0.5 every 40 passes over
the real data), the reference's settings. Backprop runs through every step (unroll.py; memory='constant' for
the recomputing reverse pass). objective='poison' (Sec. 3.6) relabels class K as T in the real batch, so
one GD step on the images makes trained networks call K T.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import ConfigError
from ..models.flat import FlatNet
from . import METHODS
from .base import Method, check_precision
from .unroll import BatchLoss, Step, Unroll, check_memory

INITS = ("fixed", "random", "fixed_pretrained", "random_pretrained")
ALIASES = {"pretrained": "random_pretrained"}


@dataclass(frozen=True)
class DDConfig:
    """DD settings; defaults are the reference's MNIST ones (REFERENCE.md, 'Methods in one line each')."""

    steps: int | None = None  # GD steps per epoch; None: 10 when it divides ipc, else ipc (one image per step)
    epochs: int = 3  # passes over the steps, each with its own lrs
    lr_init: float = 0.02  # initial learned lr (softplus value); the reference uses 0.001 for CIFAR-10
    lr: float = 0.01  # Adam lr for images and raw lrs
    beta1: float = 0.5
    beta2: float = 0.999
    batch_real: int = 1024
    passes: int = 400  # default length: passes over the real data in batches of batch_real
    decay_passes: int = 40  # lr x decay_factor every this many passes
    decay_factor: float = 0.5
    init: str = "random"  # fixed | random | fixed_pretrained | random_pretrained
    inits_per_iteration: int = 4  # sampled initialisations per iteration (random families)
    weight_init: str = "xavier"
    pretrained_dir: str | None = None  # an expert/pretrain buffer: final snapshots are the pre-trained nets
    heldout: int = 2  # pre-trained nets kept out of distillation for evaluation
    objective: str = "standard"  # standard | poison
    poison_source: int = 0  # K: real images of class K are labelled T in the objective
    poison_target: int = 1  # T
    memory: str = "plain"  # plain | constant (recompute one step at a time)
    real_chunk: int = 256  # constant memory: the real batch's loss gradient in chunks of this many (0: whole)
    precision: str = "fp32"


@METHODS.register("dd")
class DD(Method):
    """Unrolled bi-level optimisation of images and per-step learned lrs."""

    name: ClassVar[str] = "dd"
    config_cls: ClassVar[type] = DDConfig

    @property
    def batches_per_pass(self) -> int:
        return max(1, math.ceil(len(self.ctx.train) / self.config.batch_real))

    @property
    def default_iterations(self) -> int:  # type: ignore[override]
        """The reference's 400 passes over the real data in batches of 1024."""
        return self.config.passes * self.batches_per_pass

    def init(self, generator: torch.Generator) -> None:
        """Noise images (steps x classes x per-step), raw lrs, Adam; the fixed theta_0 when init='fixed'."""
        if self.config.init in ALIASES:
            self.config = replace(self.config, init=ALIASES[self.config.init])
        cfg, ctx = self.config, self.ctx
        check_precision(cfg.precision)
        check_memory(cfg.memory)
        if cfg.init not in INITS or cfg.objective not in ("standard", "poison"):
            raise ConfigError(f"init must be one of {', '.join(INITS)} and objective standard|poison, "
                              f"got init='{cfg.init}', objective='{cfg.objective}'")
        k = ctx.info.num_classes
        self.steps = cfg.steps or (10 if ctx.ipc % 10 == 0 else ctx.ipc)
        if ctx.ipc % self.steps:
            raise ConfigError(f"ipc {ctx.ipc} is not a multiple of steps {self.steps}; choose steps dividing ipc")
        self.per_step = ctx.ipc // self.steps
        c, (h, w) = ctx.info.channels, ctx.info.im_size
        self.syn = torch.randn(self.steps * k * self.per_step, c, h, w, generator=generator).to(ctx.device)
        self.syn.requires_grad_(True)
        self.syn_labels = torch.arange(k).repeat_interleave(self.per_step).repeat(self.steps).to(ctx.device)
        raw0 = math.log(math.expm1(cfg.lr_init))  # softplus^-1
        self.raw_lr = torch.full((self.steps * cfg.epochs,), raw0, device=ctx.device).requires_grad_(True)
        self.opt = torch.optim.Adam([self.syn, self.raw_lr], lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        self.student = FlatNet(self._net(generator))
        self.unroll = Unroll(self.student, ctx.device, cfg.precision)
        self.pool = self._pretrained_pool() if cfg.init.endswith("pretrained") else []
        # fixed families: one theta_0 for distillation and evaluation alike (stored in the artifact)
        self.fixed = {"fixed": self.student.initial, "fixed_pretrained": lambda: self.pool[0]}.get(
            cfg.init, lambda: None)()

    def _net(self, generator: torch.Generator) -> torch.nn.Module:
        return self.ctx.new_net(generator, self.config.weight_init)

    def _pretrained_pool(self) -> list[Tensor]:
        from ..experts import ExpertBuffer

        cfg = self.config
        if not cfg.pretrained_dir:
            raise ConfigError(f"init '{cfg.init}' needs pretrained_dir=PATH (make one with `datadistill pretrain`)")
        buf = ExpertBuffer(cfg.pretrained_dir)
        if buf.layout != self.student.layout:
            raise ConfigError(f"pre-trained networks in {cfg.pretrained_dir} do not fit {self.ctx.model}")
        n_train = len(buf) - cfg.heldout
        if n_train < 1:
            raise ConfigError(f"{cfg.pretrained_dir} holds {len(buf)} networks; need more than heldout={cfg.heldout}")
        return [buf.snapshots(i, [buf.epochs])[0].to(self.ctx.device) for i in range(n_train)]

    def plan(self) -> list[Step]:
        """The GD steps of the schedule: epoch-major, step s uses rows of step s and lr (epoch * steps + s)."""
        n = self.ctx.info.num_classes * self.per_step
        rows = [torch.arange(s * n, (s + 1) * n, device=self.ctx.device) for s in range(self.steps)]
        return [Step(rows[s], e * self.steps + s) for e in range(self.config.epochs) for s in range(self.steps)]

    def _inits(self, gen: torch.Generator) -> list[Tensor]:
        cfg = self.config
        if self.fixed is not None:  # fixed, fixed_pretrained
            return [self.fixed]
        if cfg.init == "random_pretrained":
            pick = torch.randint(len(self.pool), (cfg.inits_per_iteration,), generator=gen)
            return [self.pool[int(i)] for i in pick]
        return [self.student.layout.flatten(self._net(gen)) for _ in range(cfg.inits_per_iteration)]

    def _real_batch(self, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        train, cfg = self.ctx.train, self.config
        idx = torch.randperm(len(train), generator=gen)[:cfg.batch_real]
        x, y = train.images[idx].to(self.ctx.device), train.labels[idx].to(self.ctx.device)
        if cfg.objective == "poison":
            y = torch.where(y == cfg.poison_source, torch.full_like(y, cfg.poison_target), y)
        return x, y

    def lrs(self) -> Tensor:
        """The learned lrs (softplus of the raw parameters), epoch-major."""
        return F.softplus(self.raw_lr)

    def step(self, iteration: int, generator: torch.Generator) -> dict[str, float]:
        """One Adam step on images and raw lrs, the loss averaged over the sampled initialisations."""
        for g in self.opt.param_groups:  # step decay by iteration (stateless, so resume needs no scheduler)
            g["lr"] = self.config.lr * self.config.decay_factor ** (
                iteration // (self.config.decay_passes * self.batches_per_pass))
        x_real, y_real = self._real_batch(generator)
        inits = self._inits(generator)
        lrs = self.lrs()
        plan = self.plan()
        g_x, g_lr, total = torch.zeros_like(self.syn), torch.zeros_like(lrs), 0.0
        for theta0 in inits:
            loss, gx, glr = self.unroll.gradients(
                theta0, self.syn, self.syn_labels, lrs, plan,
                BatchLoss(self.student, x_real, y_real, self.config.real_chunk), self.config.memory)
            g_x, g_lr, total = g_x + gx, g_lr + glr, total + loss
        n = len(inits)
        self.opt.zero_grad(set_to_none=True)
        self.syn.grad = g_x / n
        self.raw_lr.grad = (g_lr / n) * torch.sigmoid(self.raw_lr.detach())  # d softplus / d raw
        self.opt.step()
        return {"loss": total / n, "lr_min": float(self.lrs().detach().min())}

    def images(self) -> Tensor:
        return self.syn.detach()

    def labels(self) -> Tensor:
        return self.syn_labels

    def learned_lrs(self) -> Tensor:
        return self.lrs().detach().cpu()

    def schedule(self) -> dict[str, Any]:
        cfg = self.config
        return {"kind": "dd", "steps": self.steps, "epochs": cfg.epochs, "per_step": self.per_step,
                "init": cfg.init, "weight_init": cfg.weight_init, "model": self.ctx.model,
                "pretrained_dir": cfg.pretrained_dir, "heldout": cfg.heldout, "objective": cfg.objective,
                "poison_source": cfg.poison_source, "poison_target": cfg.poison_target}

    @classmethod
    def variant(cls, method_config: dict[str, Any], schedule: dict[str, Any]) -> str:
        """The paper's rows differ by initialisation and by GD steps x epochs (its Table 1: fixed or random
        init, 10 steps x 3 epochs); poisoned sets are another experiment altogether."""
        get = {**method_config, **schedule}.get
        parts = [f"{str(get('init', 'random')).replace('_', ' ')} init"]
        if get("objective", "standard") == "poison":
            parts.append(f"poison {get('poison_source')}->{get('poison_target')}")
        if get("steps") is not None:
            steps = int(get("steps"))
            epochs = int(get("epochs", 1))
            parts.append(f"{steps} step{'s' * (steps != 1)} x {epochs} epoch{'s' * (epochs != 1)}")
        return ", ".join(parts)

    def extra_tensors(self) -> dict[str, Tensor]:
        return {"init_params": self.fixed.cpu()} if self.fixed is not None else {}

    def state_tensors(self) -> dict[str, Tensor]:
        out = {"images": self.syn.detach().clone(), "raw_lr": self.raw_lr.detach().clone()}
        for name, p in (("images", self.syn), ("raw_lr", self.raw_lr)):
            st = self.opt.state.get(p, {})
            for key in ("exp_avg", "exp_avg_sq", "step"):
                if key in st:
                    out[f"adam.{name}.{key}"] = torch.as_tensor(st[key]).detach().clone().reshape(-1) \
                        if key == "step" else st[key].detach().clone()
        return out

    def load_state_tensors(self, tensors: dict[str, Tensor]) -> None:
        with torch.no_grad():
            self.syn.copy_(tensors["images"].to(self.syn.device))
            self.raw_lr.copy_(tensors["raw_lr"].to(self.raw_lr.device))
        for name, p in (("images", self.syn), ("raw_lr", self.raw_lr)):
            if f"adam.{name}.step" in tensors:
                self.opt.state[p] = {"step": tensors[f"adam.{name}.step"].reshape(()).clone(),
                                     "exp_avg": tensors[f"adam.{name}.exp_avg"].clone(),
                                     "exp_avg_sq": tensors[f"adam.{name}.exp_avg_sq"].clone()}

    def default_protocol(self) -> str:
        """Replay the distilled schedule (steps x epochs with the learned lrs) on matching initialisations."""
        return "dd2018"


def replay_steps(schedule: dict[str, Any], num_classes: int, device: torch.device) -> list[Step]:
    """The schedule's GD steps (as DD.plan) from the stored schedule."""
    n = num_classes * schedule["per_step"]
    steps, epochs = schedule["steps"], schedule["epochs"]
    rows = [torch.arange(s * n, (s + 1) * n, device=device) for s in range(steps)]
    return [Step(rows[s], e * steps + s) for e in range(epochs) for s in range(steps)]


def replay_inits(schedule: dict[str, Any], extra: dict[str, Tensor], make_net, runs: int) -> list[Tensor]:
    """Initialisations an evaluation replays from, matching the family the set was distilled for.

    fixed and fixed pre-trained: the stored theta_0 itself (one network, as in the paper's adaptation table);
    random: `runs` fresh networks from make_net(i); random pre-trained: the held-out networks of the buffer (never
    seen during distillation).
    """
    from ..experts import ExpertBuffer
    from ..models.flat import FlatLayout

    init = schedule["init"]
    if init in ("fixed", "fixed_pretrained"):
        if "init_params" not in extra:
            raise ConfigError("this DD set was distilled for a fixed initialisation but carries none")
        return [extra["init_params"]]
    if init == "random":
        nets = [make_net(i) for i in range(runs)]
        return [FlatLayout.of(n).flatten(n) for n in nets]
    buf = ExpertBuffer(schedule["pretrained_dir"])
    held = range(len(buf) - schedule["heldout"], len(buf))
    return [buf.snapshots(i, [buf.epochs])[0] for i in held][:runs]
