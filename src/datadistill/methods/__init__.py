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


from . import dc, dd, dm, mtt  # noqa: E402,F401  (registers dc, dsa, dd, dm, mtt)

__all__ = ["METHODS", "DistillContext", "Method", "create_method", "list_methods"]
