"""Evaluation by replay: train networks with exactly the distilled schedule (DD: steps x epochs, learned lrs).

The set's `schedule` names the steps and the initialisation family; the initialisations come from the
method (methods/dd.replay_inits) so an evaluation matches what the set was distilled for. With
objective='poison' the result also reports how often class K is predicted as T.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from ..data.base import DatasetInfo, RealData
from ..errors import ConfigError
from ..models import create_model
from ..models.flat import FlatNet
from ..seeding import make_generator
from .protocols import learned_lr
from .train import EvalResult, EvalSpec, evaluate_tensors


def replay_evaluate(images: Tensor, labels: Tensor, lrs: Tensor, schedule: dict[str, Any],
                    extra: dict[str, Tensor], info: DatasetInfo, test: RealData, spec: EvalSpec) -> EvalResult:
    """Accuracy of networks trained by replaying the schedule from matching initialisations."""
    from ..methods.dd import replay_inits, replay_steps
    from ..methods.unroll import Unroll

    device = torch.device(spec.device)

    def make_net(i: int) -> torch.nn.Module:
        return create_model(spec.model, info.channels, info.num_classes, info.im_size,
                            generator=make_generator(spec.seed, "eval", spec.model, i),
                            weight_init=schedule.get("weight_init", "default"), **dict(spec.model_kw)).to(device)

    student = FlatNet(make_net(-1))
    unroll = Unroll(student, device)
    steps = replay_steps(schedule, info.num_classes, device)
    x, y, lrs = images.to(device), labels.to(device), lrs.to(device)
    inits = replay_inits(schedule, extra, make_net, spec.runs)  # one for a fixed init, else up to spec.runs
    done = {}
    for i in spec.world.share(len(inits)):  # a torchrun process replays its share of the networks
        theta = unroll.train(inits[i].to(device), x, y, lrs, steps)
        net = student.layout.load_into(student.net, theta).eval()
        done[i] = _test(net, test, schedule)
    merged = spec.world.gather(done)
    accs = [merged[i][0] for i in range(len(inits))]
    fooled = [merged[i][1] for i in range(len(inits))]
    config = {"protocol": spec.protocol.to_dict() if spec.protocol else None, "schedule": schedule,
              "n_train": len(x), "model_kw": dict(spec.model_kw)}
    if schedule.get("objective") == "poison":
        config["k_as_t"] = fooled  # % of class-K test images predicted as T, per network
    return EvalResult(spec.protocol.name if spec.protocol else "dd2018", spec.model, accs, spec.seed, config)


@torch.no_grad()
def _test(net: torch.nn.Module, test: RealData, schedule: dict[str, Any]) -> tuple[float, float]:
    """Accuracy (w.r.t. the modified labels for a poisoning set) and % of class K predicted as T."""
    device = next(net.parameters()).device
    preds = torch.cat([net(test.images[s:s + 1000].to(device)).argmax(1).cpu() for s in range(0, len(test), 1000)])
    y = test.labels.clone()
    k, t = schedule.get("poison_source", 0), schedule.get("poison_target", 1)
    poison = schedule.get("objective") == "poison"
    if poison:
        y[y == k] = t
    acc = 100.0 * float((preds == y).float().mean())
    is_k = test.labels == k
    k_as_t = 100.0 * float((preds[is_k] == t).float().mean()) if poison and is_k.any() else 0.0
    return acc, k_as_t


def evaluate_any(images: Tensor, labels: Tensor, info: DatasetInfo, test: RealData, spec: EvalSpec, *,
                 lrs: Tensor | None = None, schedule: dict[str, Any] | None = None,
                 extra: dict[str, Tensor] | None = None, on_model: Any = None,
                 known: Mapping[int, float] | None = None) -> EvalResult:
    """The protocol's evaluation of a set: replay for replay protocols, else fresh networks trained by SGD
    (models whose index is in `known`, accuracies from a cache, are not trained again)."""
    proto = spec.protocol
    if proto is not None and proto.replay:
        if not schedule:
            raise ConfigError(f"protocol '{proto.name}' replays a distilled schedule, but this set has none; "
                              "choose another protocol (e.g. dc2021)")
        return replay_evaluate(images, labels, lrs, schedule, extra or {}, info, test, spec)
    return evaluate_tensors(images, labels, info, test, spec, lr=learned_lr(proto, lrs), on_model=on_model,
                            known=known)
