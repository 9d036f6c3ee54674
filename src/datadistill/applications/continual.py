"""Continual learning with a small rehearsal memory (the DC paper, Sec. 3.2 / App. A; E2E baseline).

Tasks are datasets sharing one label space (here MNIST -> USPS -> UCI digits, all resized to one shape; the
paper's SVHN -> MNIST -> USPS works when the SVHN files are present, SVHN turned into one grey channel). At stage t one network (kept from stage t-1) trains on task t plus the
memory of earlier tasks, optionally with knowledge distillation on the previous network's outputs (weight 1,
temperature 2, as E2E). The memory then receives `memory_per_class` images per class of task t, chosen by
herding in the network's feature space (E2E) or made by condensing task t (DC/DSA/DM). After every stage the
network is tested on every task seen so far.

A condensed memory depends only on the task's (subsampled) training images, the method and the seed, never on
the network, so `memory_cache` can keep it: the runs with and without KD then condense each task once.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..coresets.herding import herd
from ..data import load_dataset, to_grayscale
from ..data.base import DatasetSplits, RealData
from ..errors import ConfigError
from ..evaluate.train import test_accuracy
from ..models import create_model
from ..runtime import autocast
from ..seeding import make_generator

FILLS = ("none", "herding", "condensed")


@dataclass(frozen=True)
class ContinualConfig:
    """One continual-learning setting; defaults follow the DC paper's E2E comparison where it says."""

    tasks: tuple[str, ...] = ("mnist", "usps", "digits")
    size: int = 28
    memory_per_class: int = 10
    fill: str = "herding"  # none | herding | condensed
    condense_method: str = "dsa"
    condense_iterations: int = 200
    kd: bool = False
    kd_weight: float = 1.0
    temperature: float = 2.0
    epochs: int = 5
    lr: float = 0.01
    batch_size: int = 256
    train_per_class: int | None = None  # subsample each task's training split (None: all of it)
    model: str = "convnet"
    precision: str = "bf16"
    seed: int = 0


def load_tasks(cfg: ContinualConfig, root: str | Path | None) -> list[DatasetSplits]:
    """The task datasets at one image size and, when grey and colour datasets are mixed (SVHN with the grey
    digits), all as one grey channel; they must share the classes."""
    tasks = [load_dataset(name, root, size=cfg.size) for name in cfg.tasks]
    if len({t.info.channels for t in tasks}) > 1:
        tasks = [to_grayscale(t) for t in tasks]
    shapes = {(t.info.channels, t.info.num_classes) for t in tasks}
    if len(shapes) != 1:
        raise ConfigError(f"continual tasks must share channels and classes, got {sorted(shapes)}")
    return tasks


def _subsample(train: RealData, per_class: int | None, gen: torch.Generator) -> RealData:
    if per_class is None:
        return train
    idx = torch.cat([ix[torch.randperm(len(ix), generator=gen)[:per_class]] for ix in train.class_indices])
    return train.subset(idx.sort().values)


def _train_stage(net: nn.Module, x: Tensor, y: Tensor, old: nn.Module | None, cfg: ContinualConfig,
                 gen: torch.Generator) -> None:
    """SGD (momentum 0.9, wd 5e-4) on (x, y); with KD, + w T^2 KL(old/T || new/T) on every batch."""
    opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=0.9, weight_decay=5e-4)
    dev = next(net.parameters()).device
    net.train()
    for _ in range(cfg.epochs):
        perm = torch.randperm(len(x), generator=gen)
        for s in range(0, len(x), cfg.batch_size):
            idx = perm[s:s + cfg.batch_size]
            xb, yb = x[idx].to(dev), y[idx].to(dev)
            with autocast(dev, cfg.precision):
                logits = net(xb)
                loss = F.cross_entropy(logits.float(), yb)
                if old is not None:
                    with torch.no_grad():
                        soft = F.softmax(old(xb).float() / cfg.temperature, 1)
                    kd = F.kl_div(F.log_softmax(logits.float() / cfg.temperature, 1), soft, reduction="batchmean")
                    loss = loss + cfg.kd_weight * cfg.temperature ** 2 * kd
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def _condensed_key(task: DatasetSplits, train: RealData, cfg: ContinualConfig, seed: int) -> str:
    """What a condensed memory depends on: the training images and labels, the method settings, the seed."""
    h = hashlib.sha256()
    h.update(repr((task.info.name, cfg.condense_method, cfg.condense_iterations, cfg.memory_per_class, cfg.model,
                   seed)).encode())
    h.update(train.images.float().contiguous().numpy().tobytes())
    h.update(train.labels.contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


def _condensed(task: DatasetSplits, train: RealData, cfg: ContinualConfig, seed: int,
               cache: Path | None) -> tuple[Tensor, Tensor]:
    from ..api import distill
    from ..synthetic import SyntheticSet

    file = cache / f"memory_{task.info.name}_{_condensed_key(task, train, cfg, seed)}.safetensors" if cache else None
    if file is not None and file.exists():
        syn = SyntheticSet.load(file)
    else:
        splits = DatasetSplits(task.info, train, task.test)
        syn = distill(splits, cfg.condense_method, cfg.memory_per_class, iterations=cfg.condense_iterations,
                      seed=seed, model=cfg.model)
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
            syn.save(file)
    return syn.images, syn.labels


def _memory_for(task: DatasetSplits, train: RealData, net: nn.Module, cfg: ContinualConfig,
                seed: int, cache: Path | None) -> tuple[Tensor, Tensor]:
    """memory_per_class images per class of one task: herding picks or a condensed set."""
    m = cfg.memory_per_class
    if cfg.fill == "herding":
        net.eval()
        with torch.no_grad():
            feats = torch.cat([net.embed(train.images[s:s + 1000]).float() for s in range(0, len(train), 1000)])
        idx = torch.cat([ix[herd(feats[ix], m)] for ix in train.class_indices])
        return train.images[idx], train.labels[idx]
    return _condensed(task, train, cfg, seed, cache)


def run_continual(cfg: ContinualConfig, tasks: list[DatasetSplits], run: int = 0,
                  callback: Callable[[dict[str, Any]], None] | None = None,
                  memory_cache: str | Path | None = None) -> list[list[float]]:
    """One run: acc[t][j] = test accuracy (%) on task j after stage t (j <= t). memory_cache: a folder that
    keeps condensed memories (reused by any run whose task data, method settings and seed are the same)."""
    if cfg.fill not in FILLS:
        raise ConfigError(f"fill must be one of {', '.join(FILLS)}, got '{cfg.fill}'")
    seed = cfg.seed + run
    cache = Path(memory_cache) if memory_cache else None
    gen = make_generator(seed, "continual")
    info = tasks[0].info
    net = create_model(cfg.model, info.channels, info.num_classes, tasks[0].train.images.shape[-2:],
                       generator=make_generator(seed, "continual", "net"))
    mem_x = torch.zeros(0, *tasks[0].train.images.shape[1:])
    mem_y = torch.zeros(0, dtype=torch.long)
    old, accs = None, []
    for t, task in enumerate(tasks):
        train = _subsample(task.train, cfg.train_per_class, gen)
        x, y = torch.cat([train.images, mem_x]), torch.cat([train.labels, mem_y])
        _train_stage(net, x, y, old if cfg.kd else None, cfg, gen)
        accs.append([test_accuracy(net, tasks[j].test) for j in range(t + 1)])
        if callback:
            callback({"event": "stage", "run": run, "stage": t, "task": task.info.name, "accs": accs[-1]})
        if cfg.fill != "none" and t + 1 < len(tasks):
            mx, my = _memory_for(task, train, net, cfg, seed, cache)
            mem_x, mem_y = torch.cat([mem_x, mx]), torch.cat([mem_y, my])
        if cfg.kd:
            old = _frozen_copy(net)
    return accs


def _frozen_copy(net: nn.Module) -> nn.Module:
    import copy

    old = copy.deepcopy(net).eval()
    for p in old.parameters():
        p.requires_grad_(False)
    return old
