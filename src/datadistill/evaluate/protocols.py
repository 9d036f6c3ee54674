"""Named evaluation protocols: the exact recipe a number was measured with, never switched silently."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from ..errors import ConfigError
from ..models import is_batchnorm_convnet
from ..registry import Registry


@dataclass(frozen=True)
class Protocol:
    """How a fresh network is trained on a distilled set and tested (REFERENCE.md, 'Evaluation')."""

    name: str
    epochs: int
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 256
    decay_at: float = 0.5  # lr x decay_factor after this fraction of the epochs
    decay_factor: float = 0.1
    # 'none' | 'dsa' | 'dc' (crop-scale-rotate) | 'dc-reference' (its exact pixel rules); options after colons,
    # as a model spec takes them: 'dc:strategy=crop_noise'
    augment: str = "none"
    use_learned_lr: bool = False
    precision: str = "fp32"  # training precision of the evaluated network
    test_batch: int = 1000
    replay: bool = False  # train by replaying the set's own schedule (DD) instead of epochs of SGD
    # What a ConvNet with BatchNorm trains with instead of `augment` ('': the same). The DC reference (its
    # get_daparam: "data augmentation makes model training with Batch Norm layer easier") trains its BatchNorm
    # ConvNet with crop and noise where every other network gets the dataset's strategy; `for_model` applies it.
    batchnorm_convnet_augment: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, stored next to every result. The BatchNorm-ConvNet rule is left out where unset,
        so the records and cache keys of every protocol without it read as they did before the rule existed."""
        d = asdict(self)
        if not d["batchnorm_convnet_augment"]:
            del d["batchnorm_convnet_augment"]
        return d

    def for_model(self, model: str, **model_kw: Any) -> "Protocol":
        """The recipe network `model` (a spec, plus options) trains with: `batchnorm_convnet_augment` in place of
        `augment` for a ConvNet with BatchNorm; the rule itself is dropped either way, so the result names only
        what was done (and applying it twice changes nothing)."""
        if not self.batchnorm_convnet_augment:
            return self
        augment = self.batchnorm_convnet_augment if is_batchnorm_convnet(model, **model_kw) else self.augment
        return replace(self, augment=augment, batchnorm_convnet_augment="")


PROTOCOLS: Registry[Protocol] = Registry("protocol")


def _add(p: Protocol, *aliases: str) -> None:
    PROTOCOLS.register(p.name, *aliases)(p)


_add(Protocol("dc2021", epochs=300))  # DC paper: no augmentation
# DC paper on MNIST: crop, scale, rotate (a BatchNorm ConvNet: crop, noise); the same with the reference's pixel rules
_add(Protocol("dc2021-aug", epochs=1000, augment="dc", batchnorm_convnet_augment="dc:strategy=crop_noise"))
_add(Protocol("dc2021-aug-reference", epochs=1000, augment="dc-reference",
              batchnorm_convnet_augment="dc-reference:strategy=crop_noise"))
_add(Protocol("dsa2021", epochs=1000, augment="dsa"), "dm2023")  # DSA and DM papers
_add(Protocol("mtt2022", epochs=1000, augment="dsa", use_learned_lr=True))  # MTT: the learned lr, DSA
_add(Protocol("dd2018", epochs=0, replay=True))  # DD: the distilled steps x epochs with the learned lrs
_add(Protocol("quick", epochs=100))  # smoke tests and progress checks; not a paper protocol


def dc_protocol(dataset: str) -> str:
    """The DC paper's evaluation protocol for a dataset: its crop-scale-rotate augmentation on MNIST, where the
    paper augments every experiment (coreset baselines and its own sets, App. A), no augmentation elsewhere."""
    return "dc2021-aug" if dataset == "mnist" else "dc2021"


def lr_for_epoch(proto: Protocol, base_lr: float, epoch: int) -> float:
    """The protocol's step schedule: base_lr, times decay_factor from epoch decay_at * epochs on."""
    return base_lr * (proto.decay_factor if epoch >= int(proto.epochs * proto.decay_at) else 1.0)


def learned_lr(proto: Protocol, lrs: Any) -> float | None:
    """The lr to train with when the protocol uses the set's learned lr (None: the protocol's own lr).

    A protocol that asks for a learned lr on a set that has none is an error, not a silent fallback.
    """
    if not proto.use_learned_lr:
        return None
    if lrs is None or lrs.numel() == 0:
        raise ConfigError(f"protocol '{proto.name}' trains with the set's learned lr, but this set has none; "
                          "choose another protocol (e.g. dsa2021)")
    return float(lrs.reshape(-1)[0])


def get_protocol(p: "str | Protocol", **overrides: Any) -> Protocol:
    """Look up a protocol by name (or pass one through), with optional field overrides."""
    proto = PROTOCOLS.get(p) if isinstance(p, str) else p
    return replace(proto, **overrides) if overrides else proto
