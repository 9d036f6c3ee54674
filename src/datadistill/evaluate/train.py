"""Train fresh networks on a (distilled) set and test them on real data: the evaluation protocol."""
from __future__ import annotations

import json
import statistics
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from ..augment import Augment, make_augment
from ..data.base import DatasetInfo, RealData
from ..distributed import SINGLE, World
from ..errors import ArtifactError, ConfigError
from ..fileio import load_meta, save_tensors
from ..models import create_model
from ..options import parse_spec
from ..runtime import autocast, compile_errors, effective_precision
from ..seeding import make_generator
from .batched import batchable, test_accuracies, train_batched
from .protocols import Protocol, lr_for_epoch


@dataclass
class EvalResult:
    """Accuracies of every trained model and their mean +- std (in percent)."""

    protocol: str
    model: str
    accs: list[float]
    seed: int
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        # statistics.mean, as the benches: a float32 mean rounds 68.965 to 68.96 where they print 68.97
        return statistics.mean(self.accs) if self.accs else float("nan")

    @property
    def std(self) -> float:
        return statistics.pstdev(self.accs) if len(self.accs) > 1 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored in the artifact and run metrics)."""
        return {"protocol": self.protocol, "model": self.model, "accs": self.accs, "mean": self.mean,
                "std": self.std, "n": len(self.accs), "seed": self.seed, "config": self.config}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EvalResult":
        """Inverse of to_dict."""
        return cls(d["protocol"], d["model"], list(d["accs"]), int(d.get("seed", 0)), d.get("config", {}))

    def __str__(self) -> str:
        return f"{self.mean:.2f} +- {self.std:.2f} % ({self.model}, {self.protocol}, n={len(self.accs)})"


@torch.no_grad()
def test_accuracy(net: nn.Module, test: RealData, batch: int = 1000, precision: str = "fp32") -> float:
    """Top-1 accuracy in percent on a real split."""
    net.eval()
    device = next(net.parameters()).device
    correct = 0
    for s in range(0, len(test), batch):
        x = test.images[s:s + batch].to(device)
        with autocast(device, precision):
            correct += int((net(x).argmax(1).cpu() == test.labels[s:s + batch]).sum())
    return 100.0 * correct / max(1, len(test))


def train_network(net: nn.Module, x: torch.Tensor, y: torch.Tensor, proto: Protocol,
                  generator: torch.Generator, lr: float | None = None,
                  augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
                  on_epoch: Callable[[int, nn.Module], None] | None = None,
                  on_batch: Callable[[torch.Tensor, torch.Tensor], None] | None = None,
                  compile: bool = False, checkpoint: Path | None = None) -> nn.Module:
    """SGD (momentum, weight decay) on (x, y) for proto.epochs with one step decay; returns net.

    on_epoch(e, net) is called after each epoch e = 1..epochs (expert trajectories record parameters there);
    on_batch(indices, logits) sees every batch's predictions before its update (forgetting counts them).
    compile: the training passes run through torch.compile (inductor; the same training, faster where the
    fused kernels pay: bench/bench_compile.py). Networks of one architecture share the compiled code.
    checkpoint: after every epoch the network, the momentum and the generator are saved to this file; if it
    exists when training starts, training continues after its last epoch exactly as if never stopped (for
    trainings of minutes per epoch, such as the whole-data bound; the caller removes the file when done).
    """
    base_lr = proto.lr if lr is None else lr
    opt = torch.optim.SGD(net.parameters(), lr=base_lr, momentum=proto.momentum,
                          weight_decay=proto.weight_decay)
    device = next(net.parameters()).device
    x, y = x.to(device), y.to(device)
    net.train()
    done = _load_progress(checkpoint, net, opt, generator) if checkpoint and checkpoint.exists() else 0
    # static shapes: the last, smaller batch of an epoch gets its own graph instead of one dynamic graph for all
    # (ResNet-18 on all of MNIST here, one run each way: 4.2 min per epoch with one dynamic graph, 3.85 with two static)
    forward = torch.compile(net, dynamic=False) if compile else net  # shares net's parameters
    with compile_errors() if compile else nullcontext():
        for epoch in range(done, proto.epochs):
            for g in opt.param_groups:  # decay in place: the momentum buffer survives (the reference resets it)
                g["lr"] = lr_for_epoch(proto, base_lr, epoch)
            perm = torch.randperm(len(x), generator=generator).to(device)
            for s in range(0, len(x), proto.batch_size):
                idx = perm[s:s + proto.batch_size]
                xb = augment(x[idx], generator) if augment else x[idx]
                with autocast(device, proto.precision):
                    logits = forward(xb)
                    loss = F.cross_entropy(logits, y[idx])
                if on_batch:
                    on_batch(idx, logits.detach())
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            if checkpoint:
                _save_progress(checkpoint, net, opt, generator, epoch + 1)
            if on_epoch:
                on_epoch(epoch + 1, net)
    return net


def _save_progress(file: Path, net: nn.Module, opt: torch.optim.Optimizer, generator: torch.Generator,
                   epochs_done: int) -> None:
    tensors = {f"net.{k}": v for k, v in net.state_dict().items()}
    for i, p in enumerate(net.parameters()):
        if (buf := opt.state.get(p, {}).get("momentum_buffer")) is not None:
            tensors[f"momentum.{i}"] = buf
    tensors["generator"] = generator.get_state()
    file.parent.mkdir(parents=True, exist_ok=True)
    save_tensors(file, tensors, {"epochs_done": epochs_done})


def _load_progress(file: Path, net: nn.Module, opt: torch.optim.Optimizer, generator: torch.Generator) -> int:
    """Restore what _save_progress saved; returns the epochs it had done."""
    try:
        tensors = load_file(str(file))
        net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
        for i, p in enumerate(net.parameters()):
            if f"momentum.{i}" in tensors:
                opt.state[p]["momentum_buffer"] = tensors[f"momentum.{i}"].to(p.device)
        generator.set_state(tensors["generator"])
    except (SafetensorError, RuntimeError, KeyError, ValueError, OSError) as e:
        raise _not_a_checkpoint(file, e) from e
    return checkpoint_epochs(file)


def checkpoint_epochs(file: Path) -> int:
    """The epochs a train_network checkpoint file had done when it was saved."""
    try:
        return int(json.loads(load_meta(file))["epochs_done"])
    except (SafetensorError, ArtifactError, KeyError, ValueError, TypeError, OSError) as e:
        raise _not_a_checkpoint(file, e) from e


def _not_a_checkpoint(file: Path, e: Exception) -> ArtifactError:
    return ArtifactError(f"{file} does not hold a checkpoint of this network ({type(e).__name__}); delete it to "
                         "train this model from the start")


def protocol_augment(proto: Protocol, dataset: str) -> Augment | None:
    """The training augmentation a protocol (or whole-data recipe) asks for on `dataset` (its options after
    colons: 'dc:strategy=crop_noise'); None for 'none'."""
    name, options = parse_spec(proto.augment, "dc:strategy=crop_noise", "augmentation")
    return None if name == "none" and not options else make_augment(name, dataset, **options)


BATCHED_IMAGES = 1024  # images per vmapped step (models x batch): bounds memory like one large batch


@dataclass(frozen=True)
class EvalSpec:
    """What to evaluate with: architecture (+ kwargs), protocol, number of models, seed, device."""

    model: str = "convnet"
    protocol: Protocol | None = None
    runs: int = 5
    seed: int = 0
    model_kw: tuple[tuple[str, Any], ...] = ()
    device: str = "cpu"
    # Train the models together (vmap over stacked parameters) when the architecture allows it. Off by default:
    # on 2 CPU cores it measured 2.2x slower than one model after another (docs/results.md, bench_eval.py).
    batched: bool = False
    # torch.compile the training passes (train_network's `compile`); models trained together (batched) do not
    compile: bool = False
    world: World = SINGLE  # a torchrun job shares the models among its processes (model i on rank i % size)

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise ConfigError(f"runs {self.runs}: an evaluation trains at least one network (pass --runs 1 or more)")
        if self.protocol is not None:  # the recipe this network trains with (Protocol.for_model), keyed as such
            object.__setattr__(self, "protocol", self.protocol.for_model(self.model, **dict(self.model_kw)))


def evaluate_tensors(x: torch.Tensor, y: torch.Tensor, info: DatasetInfo, test: RealData, spec: EvalSpec,
                     lr: float | None = None, on_model: Callable[[int, float], None] | None = None,
                     also: tuple[RealData, ...] = (), known: Mapping[int, float] | None = None,
                     checkpoint_dir: Path | None = None) -> EvalResult:
    """Train spec.runs fresh networks on (x, y) with the protocol and test each on `test`; the same trained
    networks are also tested on each split of `also` (e.g. a validation split), listed per split in
    config['also_accs']. Models whose index is in `known` (accuracies of the same spec from a cache) are not
    trained again; their accuracies are taken as they are. With `checkpoint_dir`, model i's training is saved
    after every epoch to <checkpoint_dir>/model<i>.safetensors and continues from there when interrupted (the
    file is removed once the model is tested); config['resumed_epochs'] maps each model that continued to the
    epochs it had done before, so a wall time can say what it covers."""
    proto = spec.protocol
    assert proto is not None
    known = dict(known or {})
    if known and also:
        raise ValueError("known accuracies cannot be combined with `also` splits (theirs are not known)")
    if checkpoint_dir is not None and spec.batched:
        raise ValueError("per-model checkpoints need models trained one after another (batched=False)")
    aug = protocol_augment(proto, info.name)
    # model i draws from its own generator, whichever process trains it
    mine = [i for i in spec.world.share(spec.runs) if i not in known]
    gens = [make_generator(spec.seed, "eval", spec.model, i) for i in mine]
    nets = [create_model(spec.model, info.channels, info.num_classes, info.im_size, generator=g,
                         **dict(spec.model_kw)).to(spec.device) for g in gens]
    together = spec.batched and len(nets) > 1 and batchable(nets[0])
    done: dict[int, tuple[float, list[float]]] = {}
    resumed: dict[int, int] = {}

    def record(j: int, acc: float, extra: list[float]) -> None:
        done[mine[j]] = (acc, extra)
        if on_model:
            on_model(mine[j], acc)

    if together:  # groups of models whose joint batch stays under BATCHED_IMAGES (memory as one big batch)
        group = max(1, BATCHED_IMAGES // max(1, min(len(x), proto.batch_size)))
        for s in range(0, len(nets), group):
            part = slice(s, s + group)
            trained = train_batched(nets[part], x, y, proto, gens[part], lr=lr, augment=aug)
            main, *extra = (test_accuracies(trained, t, proto.test_batch, proto.precision) for t in (test, *also))
            for k, acc in enumerate(main):
                record(s + k, acc, [e[k] for e in extra])
    else:
        for j, (net, gen) in enumerate(zip(nets, gens)):
            ckpt = checkpoint_dir / f"model{mine[j]}.safetensors" if checkpoint_dir is not None else None
            if ckpt is not None and ckpt.exists():
                resumed[mine[j]] = checkpoint_epochs(ckpt)
            train_network(net, x, y, proto, gen, lr=lr, augment=aug, compile=spec.compile, checkpoint=ckpt)
            acc, *extra = (test_accuracy(net, t, proto.test_batch, proto.precision) for t in (test, *also))
            record(j, acc, extra)
            if ckpt is not None:
                ckpt.unlink(missing_ok=True)
    merged = {**{i: (acc, []) for i, acc in known.items()}, **spec.world.gather(done)}
    accs = [merged[i][0] for i in range(spec.runs)]
    config = {"protocol": proto.to_dict(), "model_kw": dict(spec.model_kw), "n_train": len(x), "batched": together,
              "precision": effective_precision(torch.device(spec.device), proto.precision)}
    if spec.compile and not together:
        config["compiled"] = True
    if resumed:
        config["resumed_epochs"] = resumed
    if also:
        config["also_accs"] = [[merged[i][1][k] for i in range(spec.runs)] for k in range(len(also))]
    return EvalResult(proto.name, spec.model, accs, spec.seed, config)
