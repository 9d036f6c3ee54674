"""Distillation methods, one file each, behind the interface of methods.base."""
from __future__ import annotations

from typing import Any

from ..registry import Registry
from .base import DistillContext, Method, build_config

METHODS: Registry[type[Method]] = Registry("method")


def create_method(name: str, ctx: DistillContext, **overrides: Any) -> Method:
    """Instantiate method `name` with its config built from overrides (unknown keys are an error)."""
    cls = METHODS.get(name)
    return cls(build_config(cls.config_cls, overrides), ctx)


def list_methods() -> list[str]:
    """Registered method names."""
    return METHODS.names()


def method_label(name: str, method_config: dict[str, Any] | None = None,
                 schedule: dict[str, Any] | None = None) -> str:
    """A saved set's method as tables name it: 'dd (fixed init, 10 steps x 3 epochs)', 'dc'. Names that are no
    registered method (coreset selections, baselines) stay as they are."""
    if name not in METHODS:
        return name
    variant = METHODS.get(name).variant(method_config or {}, schedule or {})
    return f"{name} ({variant})" if variant else name


from . import dc, dd, dm, mtt  # noqa: E402,F401  (registers dc, dsa, dd, dm, mtt)

__all__ = ["METHODS", "DistillContext", "Method", "create_method", "list_methods", "method_label"]
