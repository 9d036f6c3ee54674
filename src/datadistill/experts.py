"""Expert trajectories for MTT: networks trained on the real data, every epoch's parameters stored flat.

A buffer is a folder:

    manifest.json              format, config (dataset, model, lr, epochs, DSA, ZCA, seed, ...), dataset info
                               (normalisation), ZCA fingerprint, parameter layout, and one entry per expert
    expert_0000.safetensors    tensors 'epoch_000' ... 'epoch_EEE', each the flat parameter vector (float32)
    ...

Experts are written one by one, each atomically; running the same command again continues with the next
missing expert (a larger --num adds experts). Expert i draws its initialisation, batch order and augmentation
from make_generator(seed, 'expert', i), so a buffer is repeatable and its experts independent.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from torch import Tensor

from .augment import dsa_strategy_for, make_augment
from .augment.zca import ZCA
from .data.base import DatasetInfo, DatasetSplits
from .distributed import World, current_world
from .errors import ArtifactError, ConfigError
from .evaluate.protocols import Protocol
from .evaluate.train import test_accuracy, train_network
from .fileio import save_tensors, write_json
from .models import create_model
from .models.flat import FlatLayout
from .seeding import make_generator

FORMAT = "datadistill.experts/1"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ExpertConfig:
    """How experts are trained (MTT reference: SGD lr 0.01, no momentum / weight decay, batch 256, DSA)."""

    model: str = "convnet"
    model_kw: dict[str, Any] = field(default_factory=dict)
    epochs: int = 20
    lr: float = 0.01
    momentum: float = 0.0
    weight_decay: float = 0.0
    batch_size: int = 256
    dsa: bool = True
    dsa_strategy: str | None = None  # None: the dataset's published strategy
    zca: float | None = None  # ZCA eps (the MTT reference uses 0.1 for CIFAR), None: no whitening
    precision: str = "bf16"  # autocast of the expert training passes ('fp32' for exact float32 trajectories)
    seed: int = 0
    device: str = "cpu"

    def protocol(self) -> Protocol:
        """The training recipe as an evaluation Protocol without lr decay."""
        return Protocol("expert", epochs=self.epochs, lr=self.lr, momentum=self.momentum,
                        weight_decay=self.weight_decay, batch_size=self.batch_size, decay_at=1.0,
                        augment="none", precision=self.precision)


class ExpertBuffer:
    """A folder of expert trajectories (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        file = self.path / MANIFEST
        if not file.exists():
            raise ArtifactError(f"no expert buffer at {self.path} (expected {file}); create one with "
                                f"`datadistill experts --dataset ... --out {self.path}`")
        self.manifest = json.loads(file.read_text())
        if self.manifest.get("format") != FORMAT:
            raise ArtifactError(f"{file} is not a datadistill expert manifest")
        self.layout = FlatLayout.from_dict(self.manifest["layout"])
        self.info = DatasetInfo.from_dict(self.manifest["info"])
        self.config = self.manifest["config"]

    def __len__(self) -> int:
        return len(self.manifest["experts"])

    @property
    def epochs(self) -> int:
        """Number of training epochs per expert (snapshots 0..epochs)."""
        return int(self.config["epochs"])

    def snapshots(self, expert: int, epochs: list[int]) -> list[Tensor]:
        """Flat parameters of `expert` after each epoch in `epochs` (0 = initialisation); reads only those."""
        bad = [e for e in epochs if not 0 <= e <= self.epochs]
        if bad:
            raise ConfigError(f"expert epochs {bad} out of range: the buffer has epochs 0..{self.epochs}; "
                              "train longer experts or lower max_start_epoch / expert_epochs")
        entry = self.manifest["experts"][expert]
        with safe_open(str(self.path / entry["file"]), framework="pt") as f:
            return [f.get_tensor(f"epoch_{e:03d}") for e in epochs]

    def check_compatible(self, info: DatasetInfo, model: str, model_kw: dict[str, Any],
                         zca: ZCA | None) -> None:
        """One-line errors when a distillation run would use this buffer on other data, model or whitening."""
        if self.info.name != info.name or tuple(self.info.im_size) != tuple(info.im_size):
            raise ConfigError(f"expert buffer {self.path} was trained on {self.info.name} "
                              f"{tuple(self.info.im_size)}, not {info.name} {tuple(info.im_size)}")
        if self.config["model"] != model or self.config["model_kw"] != json.loads(json.dumps(model_kw)):
            raise ConfigError(f"expert buffer {self.path} holds {self.config['model']} "
                              f"{self.config['model_kw']} experts, not {model} {model_kw}; use the same model")
        if tuple(self.info.mean) != tuple(info.mean) or tuple(self.info.std) != tuple(info.std):
            raise ConfigError(f"expert buffer {self.path} used another normalisation ({self.info.mean}, "
                              f"{self.info.std}); distill with the same dataset settings")
        want = self.manifest.get("zca_fingerprint")
        have = zca.fingerprint() if zca is not None else None
        if want != have:
            need = f"--zca {self.config['zca']}" if want else "no ZCA"
            raise ConfigError(f"expert buffer {self.path} was trained with {need}; distill with the same "
                              "whitening")

    def bytes_per_expert(self) -> float:
        sizes = [e["bytes"] for e in self.manifest["experts"]]
        return sum(sizes) / max(1, len(sizes))


def _manifest(cfg: ExpertConfig, info: DatasetInfo, layout: FlatLayout, zca: ZCA | None) -> dict[str, Any]:
    from .run import environment

    aug = {"dsa": cfg.dsa, "strategy": (cfg.dsa_strategy or dsa_strategy_for(info.name)) if cfg.dsa else None}
    return {"format": FORMAT, "config": json.loads(json.dumps(asdict(cfg))), "info": info.to_dict(),
            "zca_fingerprint": zca.fingerprint() if zca else None, "augmentation": aug,
            "layout": layout.to_dict(), "experts": [], "environment": environment()}


def _same_recipe(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Manifest parts that differ (the device may change between sessions: it is not part of the recipe)."""
    strip = lambda m: {**m, "config": {k: v for k, v in m.get("config", {}).items() if k != "device"}}  # noqa: E731
    old, new = strip(old), strip(new)
    return [k for k in ("config", "info", "zca_fingerprint", "layout") if old.get(k) != new.get(k)]


def _train_one(data: DatasetSplits, cfg: ExpertConfig, i: int, aug: Any,
               callback: Callable[[dict[str, Any]], None]) -> tuple[dict[str, Tensor], float]:
    """Train expert i; returns its snapshots {'epoch_000': flat, ...} and its final test accuracy."""
    info = data.info
    gen = make_generator(cfg.seed, "expert", i)
    net = create_model(cfg.model, info.channels, info.num_classes, info.im_size, generator=gen,
                       **cfg.model_kw).to(cfg.device)
    layout = FlatLayout.of(net)
    snaps = {"epoch_000": layout.flatten(net).cpu()}

    def record(epoch: int, model: torch.nn.Module) -> None:
        snaps[f"epoch_{epoch:03d}"] = layout.flatten(model).cpu()
        callback({"event": "epoch", "expert": i, "epoch": epoch, "epochs": cfg.epochs})

    train_network(net, data.train.images, data.train.labels, cfg.protocol(), gen, augment=aug, on_epoch=record)
    return snaps, test_accuracy(net, data.test, precision=cfg.precision)


def train_experts(data: DatasetSplits, cfg: ExpertConfig, out: str | Path, num: int,
                  callback: Callable[[dict[str, Any]], None] | None = None,
                  world: World | None = None) -> ExpertBuffer:
    """Train experts until `out` holds `num` of them (continuing an existing buffer); returns the buffer.

    In a torchrun job the processes train experts side by side (expert i on rank i % size, from the same
    generator as in one process); each writes its own expert files and rank 0 the manifest, one round of
    `size` experts at a time, so an interrupted buffer always lists a complete prefix of experts.
    """
    world = world or current_world()
    if num < 1 or cfg.epochs < 1:
        raise ConfigError(f"need num >= 1 and epochs >= 1, got num={num}, epochs={cfg.epochs}")
    out = Path(out)
    callback = callback or (lambda e: None)
    zca = ZCA.fit(data.train.images, cfg.zca) if cfg.zca is not None else None
    if zca is not None:
        data = data.map_images(zca.transform)
    info = data.info
    probe = create_model(cfg.model, info.channels, info.num_classes, info.im_size,
                         generator=make_generator(cfg.seed, "probe"), **cfg.model_kw)
    manifest = _manifest(cfg, info, FlatLayout.of(probe), zca)
    file = out / MANIFEST
    manifest["experts"] = world.on_main(lambda: _continued(file, manifest, out))
    aug = make_augment("dsa", info.name, strategy=cfg.dsa_strategy or dsa_strategy_for(info.name)) \
        if cfg.dsa else None
    callback({"event": "start", "done": len(manifest["experts"]), "num": num, "epochs": cfg.epochs})
    for first in range(len(manifest["experts"]), num, world.size):
        entries = {}
        i = first + world.rank
        if i < num:
            t0 = time.perf_counter()
            snaps, acc = _train_one(data, cfg, i, aug, callback)
            name = f"expert_{i:04d}.safetensors"
            save_tensors(out / name, snaps, {"expert": i, "test_acc": acc})
            entries[i] = {"file": name, "bytes": (out / name).stat().st_size, "test_acc": acc,
                          "train_s": round(time.perf_counter() - t0, 1)}
        done = world.gather(entries)
        for j in sorted(done):
            manifest["experts"].append(done[j])
        if world.main:
            write_json(file, manifest)
        for j in sorted(done):
            callback({"event": "expert", "expert": j, **done[j]})
    world.barrier()  # the manifest is complete before any process reads the buffer
    return ExpertBuffer(out)


def _continued(file: Path, manifest: dict[str, Any], out: Path) -> list[dict[str, Any]]:
    """The experts an existing buffer at `file` already holds (after checking its recipe); creates `out`."""
    experts: list[dict[str, Any]] = []
    if file.exists():
        old = json.loads(file.read_text())
        differ = _same_recipe(old, manifest)
        if differ:
            raise ConfigError(f"{out} holds experts trained differently ({', '.join(differ)} differ); "
                              "use the same settings to continue it or choose a new --out")
        experts = old["experts"]
    out.mkdir(parents=True, exist_ok=True)
    return experts
