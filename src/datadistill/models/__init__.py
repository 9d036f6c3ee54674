"""Classifier networks behind one factory: `create_model(name, in_channels, num_classes, im_size)`.

Every model exposes `embed(x)` (flattened features before the last linear layer), `forward(x) =
classifier(embed(x))` and `feature_dim`. Passing a `torch.Generator` makes weights reproducible without
touching the global RNG.
"""
from __future__ import annotations

import inspect
import math
import typing
from functools import partial
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..options import parse_spec, typed
from . import alexnet, convnet, lenet, mlp, resnet, vgg  # noqa: F401  (registers the families)
from ._base import MODELS, FeatureClassifier, as_size

_BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
_NORMS = (*_BATCHNORMS, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)


def list_models() -> list[str]:
    """Sorted names of all registered models."""
    return MODELS.names()


def has_batchnorm(model: nn.Module) -> bool:
    """True if any submodule is a batch-norm layer (its statistics then depend on the batch)."""
    return any(isinstance(m, _BATCHNORMS) for m in model.modules())


def is_batchnorm_convnet(name: str, **kw: Any) -> bool:
    """Whether the model spec `name` (plus options `kw`) names a ConvNet with BatchNorm ('convnet_bn',
    'convnet:norm=batchnorm', ...), read from the registry without building it; False for a name not registered
    (building it is what reports that)."""
    base, spec_kw = parse_model_spec(name)
    if base not in MODELS:
        return False
    factory = MODELS.get(base)
    target, preset = (factory.func, factory.keywords) if isinstance(factory, partial) else (factory, {})
    if target is not convnet.ConvNet:
        return False
    default = inspect.signature(convnet.ConvNet).parameters["norm"].default
    return {**preset, **spec_kw, **kw}.get("norm", default) == "batchnorm"


SPEC_EXAMPLE = "convnet:depth=4:width=256:norm=batchnorm"


def parse_model_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """A model spec, a registered name with options after colons, as (name, options):
    'convnet:depth=4:act=sigmoid' -> ('convnet', {'depth': 4, 'act': 'sigmoid'}). Values are JSON literals
    (numbers, true/false, null) or plain strings. So an ablation network is a name wherever a model is named
    (distilling, evaluating, cross-architecture), never a code edit."""
    return parse_spec(spec, SPEC_EXAMPLE, "model")


def model_spec(name: str, kw: dict[str, Any] | None = None) -> str:
    """The spec naming model `name` built with options `kw` (parse_model_spec's inverse): ('convnet', {'depth': 1})
    -> 'convnet:depth=1'. Saved sets keep their distilling network as a name and options; this names it whole."""
    return ":".join([name, *(f"{k}={v}" for k, v in (kw or {}).items())])


def _type_hints(factory: Any) -> dict[str, Any]:
    target = factory.func if isinstance(factory, partial) else factory
    try:
        return typing.get_type_hints(target.__init__ if inspect.isclass(target) else target)
    except (NameError, TypeError):  # an annotation that does not resolve: leave its values unchecked
        return {}


def _check_kwargs(name: str, factory: Any, kw: dict[str, Any]) -> dict[str, Any]:
    """`kw` with each value as its parameter's type, or a one-line ConfigError naming the bad option."""
    params = inspect.signature(factory).parameters
    allowed = [k for k, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    unknown = sorted(set(kw) - set(allowed))
    if unknown:
        raise ConfigError(
            f"model '{name}' got unknown option(s) {', '.join(unknown)}; allowed: {', '.join(allowed) or 'none'}"
        )
    hints = _type_hints(factory)
    return {k: typed(k, v, hints.get(k, Any), f"model '{name}'") for k, v in kw.items()}


def create_model(
    name: str, in_channels: int, num_classes: int, im_size: tuple[int, int] | int, *,
    generator: torch.Generator | None = None, weight_init: str = "default", **kw: Any,
) -> nn.Module:
    """Build a registered model (`name` may carry options, see parse_model_spec); with `generator` its weights
    come from that generator only."""
    base, spec_kw = parse_model_spec(name)
    clash = sorted(k for k in set(spec_kw) & set(kw) if spec_kw[k] != kw[k])
    if clash:
        raise ConfigError(f"model '{name}' sets {', '.join(clash)} in its name and differently as an argument; "
                          "give each option once")
    factory = MODELS.get(base)
    kw = _check_kwargs(name, factory, {**spec_kw, **kw})
    size = as_size(im_size)
    if generator is None:
        model = factory(in_channels, num_classes, size, **kw)
        return model if weight_init == "default" else init_weights(model, None, weight_init)
    # Build on the meta device so that the layers' own reset_parameters() draw nothing from the global RNG.
    with torch.device("meta"):
        model = factory(in_channels, num_classes, size, **kw)
    model = model.to_empty(device=generator.device)
    init_weights(model, generator, weight_init)
    return model


def _init_affine(module: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's default init of a conv / linear layer, drawn from `generator`."""
    nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
    if module.bias is not None:
        fan_in, _ = nn.init._calculate_fan_in_and_fan_out(module.weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        nn.init.uniform_(module.bias, -bound, bound, generator=generator)


def _init_norm(module: nn.Module) -> None:
    if isinstance(module, nn.modules.batchnorm._NormBase):  # batch / instance norm running statistics
        module.reset_running_stats()
    if getattr(module, "weight", None) is not None:
        nn.init.ones_(module.weight)
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)


def _has_own_tensors(module: nn.Module) -> bool:
    return any(True for _ in module.parameters(recurse=False)) or any(True for _ in module.buffers(recurse=False))


WEIGHT_INITS = ("default", "xavier")


@torch.no_grad()
def init_weights(model: nn.Module, generator: torch.Generator | None, scheme: str = "default") -> nn.Module:
    """Re-initialise every parameter, drawn from `generator` if given.

    scheme 'default': PyTorch's layer defaults; 'xavier': Xavier-normal weights (gain 1) and zero biases for
    conv / linear layers, the init of the DD reference code.
    """
    if scheme not in WEIGHT_INITS:
        raise ConfigError(f"unknown weight init '{scheme}'; known: {', '.join(WEIGHT_INITS)}")
    for module in model.modules():
        if generator is None and scheme == "default":
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
        elif isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
            if scheme == "xavier":
                nn.init.xavier_normal_(module.weight, generator=generator)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            else:
                _init_affine(module, generator)
        elif isinstance(module, _NORMS):
            _init_norm(module)
        elif _has_own_tensors(module):
            raise ConfigError(f"init_weights: no generator-based init for {type(module).__name__}; add one")
    return model


__all__ = [
    "MODELS", "FeatureClassifier", "create_model", "list_models", "has_batchnorm", "is_batchnorm_convnet",
    "init_weights", "parse_model_spec", "model_spec", "SPEC_EXAMPLE",
]
