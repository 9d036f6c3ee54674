"""The small interface every distillation method implements: a frozen config, init, step, state."""
from __future__ import annotations

import typing
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import torch

from ..data.base import DatasetInfo, DatasetSplits, RealData
from ..distributed import SINGLE, World
from ..errors import ConfigError
from ..options import typed


@dataclass
class DistillContext:
    """What a method is given: the real training data, its info, the IPC and the distilling network."""

    train: RealData
    info: DatasetInfo
    ipc: int
    model: str = "convnet"
    model_kw: dict[str, Any] = field(default_factory=dict)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    zca: Any = None  # the fitted augment.zca.ZCA when the run whitens its data (train is then whitened)
    world: World = SINGLE  # the processes of a torchrun job; methods with split_classes share the classes
    # init='<coreset selection>' (herding, kcenter, ...) selects from this coresets.SelectionSource (its cached
    # whole-data feature network); None: one over `train` with the default recipe and cache location
    selection_source: Any = None

    def new_net(self, generator: torch.Generator, weight_init: str = "default") -> torch.nn.Module:
        """A fresh distilling network (ctx.model with ctx.model_kw) on ctx.device, drawn from `generator`."""
        from ..models import create_model

        return create_model(self.model, self.info.channels, self.info.num_classes, self.info.im_size,
                            generator=generator, weight_init=weight_init, **self.model_kw).to(self.device)


class Method:
    """Base class: subclasses set `name`, `config_cls`, and implement init / step / tensors."""

    name: ClassVar[str]
    config_cls: ClassVar[type]
    default_iterations: ClassVar[int] = 1000
    # True when the loss is a sum of per-class terms that touch only that class's images (DC, DSA, DM): the
    # classes can then be shared among the processes of a torchrun job (see distributed.py).
    split_classes: ClassVar[bool] = False

    def __init__(self, config: Any, ctx: DistillContext) -> None:
        self.config = config
        self.ctx = ctx

    def init(self, generator: torch.Generator) -> None:
        """Create the synthetic images (and any learned state)."""
        raise NotImplementedError

    def step(self, iteration: int, generator: torch.Generator) -> dict[str, float]:
        """One outer iteration; returns scalar metrics (at least 'loss')."""
        raise NotImplementedError

    def images(self) -> torch.Tensor:
        """Current synthetic images, normalised, N x C x H x W."""
        raise NotImplementedError

    def labels(self) -> torch.Tensor:
        """Labels of the synthetic images."""
        raise NotImplementedError

    def learned_lrs(self) -> torch.Tensor:
        """Learned learning rates (empty when the method learns none)."""
        return torch.zeros(0)

    def schedule(self) -> dict[str, Any]:
        """How the set is meant to be used when it is not 'train on it with a protocol' (DD: steps x epochs)."""
        return {}

    def extra_tensors(self) -> dict[str, torch.Tensor]:
        """Tensors the artifact must carry besides images and lrs (DD: the fixed initial parameters)."""
        return {}

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Every tensor needed to resume exactly (images, optimiser buffers)."""
        raise NotImplementedError

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Inverse of state_tensors."""
        raise NotImplementedError

    def default_protocol(self) -> str:
        """The evaluation protocol the method's paper used for this dataset."""
        return "dc2021"

    @classmethod
    def variant(cls, method_config: dict[str, Any], schedule: dict[str, Any]) -> str:
        """What sets a saved run apart from other runs of this method in the papers' tables ('' when nothing
        does): reports show it beside the method's name and look the published figure up under both. Given
        the artifact's method config and schedule, as saved."""
        return ""


class ImageSetMethod(Method):
    """A method whose state is the synthetic images `syn` (class-major) optimised by SGD `opt`."""

    syn: torch.Tensor
    syn_labels: torch.Tensor
    opt: torch.optim.SGD

    def images(self) -> torch.Tensor:
        return self.syn.detach()

    def labels(self) -> torch.Tensor:
        return self.syn_labels

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {"images": self.syn.detach().clone(), **sgd_state(self.opt, "opt_img")}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            self.syn.copy_(tensors["images"].to(self.syn.device))
        load_sgd_state(self.opt, "opt_img", tensors)

    def my_classes(self) -> range:
        """The classes whose loss terms this process computes (all of them in a one-process run)."""
        return self.ctx.world.share(self.ctx.info.num_classes)

    def combine(self, loss: float) -> float:
        """Sum the image gradients and the loss over the processes (a no-op for one process).

        Each process back-propagated only its classes' terms, which touch only those classes' images, so the
        sum is the gradient one process would have computed; every process then takes the same image step.
        """
        world = self.ctx.world
        if world.size == 1:
            return loss
        if self.syn.grad is None:
            self.syn.grad = torch.zeros_like(self.syn)
        world.sum_(self.syn.grad)
        return float(world.sum_(torch.tensor([loss], dtype=torch.float64))[0])


def initial_images(ctx: DistillContext, init: str, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """K*ipc starting images and labels. init: 'noise' (standard normal), 'real' (random real images per class)
    or the name of a coreset selection ('herding', 'kcenter', ...: the real images it selects, seeded from
    `generator`, features from ctx.selection_source).

    Images are class-major (all of class 0, then class 1, ...), on ctx.device, not yet requiring grad.
    """
    from ..coresets import SELECTIONS, SelectionSource, select  # here: the coresets train networks (no cycle)

    if init not in ("noise", "real") and init not in SELECTIONS:
        raise ConfigError(f"init must be 'noise', 'real' or a coreset selection "
                          f"({', '.join(SELECTIONS.names())}), got '{init}'")
    ctx.train.check_ipc(ctx.ipc)
    k, c, (h, w) = ctx.info.num_classes, ctx.info.channels, ctx.info.im_size
    if init == "real":
        x = ctx.train.sample_classes(ctx.ipc, generator).reshape(k * ctx.ipc, c, h, w)
    elif init != "noise":
        source = ctx.selection_source or SelectionSource(DatasetSplits(ctx.info, ctx.train, ctx.train))
        seed = int(torch.randint(0, 2**31 - 1, (), generator=generator))
        idx = select(init, source, ctx.ipc, seed).reshape(-1)  # class-major: row c holds class c's picks
        x = ctx.train.images[idx].clone()
    else:
        x = torch.randn(k * ctx.ipc, c, h, w, generator=generator)
    labels = torch.arange(k).repeat_interleave(ctx.ipc)
    return x.to(ctx.device), labels.to(ctx.device)


def check_precision(precision: str) -> None:
    """Raise a one-line ConfigError unless precision is 'bf16' or 'fp32'."""
    if precision not in ("bf16", "fp32"):
        raise ConfigError(f"precision must be 'bf16' or 'fp32', got '{precision}'")


def build_config(config_cls: type, overrides: dict[str, Any]) -> Any:
    """config_cls(**overrides) with a one-line ConfigError naming unknown keys and the valid ones, or a value of
    the wrong type (ints are taken for floats, and whole floats such as 1e3 for ints)."""
    valid = {f.name for f in fields(config_cls)}
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(unknown)} for {config_cls.__name__}; "
                          f"valid: {', '.join(sorted(valid))}")
    hints = typing.get_type_hints(config_cls)
    return config_cls(**{k: typed(k, v, hints[k], config_cls.__name__) for k, v in overrides.items()})


def sgd_state(opt: torch.optim.SGD, prefix: str) -> dict[str, torch.Tensor]:
    """Momentum buffers of an SGD optimiser as named tensors (for safetensors checkpoints)."""
    out = {}
    for i, p in enumerate(opt.param_groups[0]["params"]):
        buf = opt.state.get(p, {}).get("momentum_buffer")
        if buf is not None:
            out[f"{prefix}.{i}"] = buf.detach().clone()
    return out


def load_sgd_state(opt: torch.optim.SGD, prefix: str, tensors: dict[str, torch.Tensor]) -> None:
    """Inverse of sgd_state."""
    for i, p in enumerate(opt.param_groups[0]["params"]):
        key = f"{prefix}.{i}"
        if key in tensors:
            opt.state[p]["momentum_buffer"] = tensors[key].clone().to(p.device)
