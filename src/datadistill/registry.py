"""A tiny name -> factory registry (timm style): register with a decorator, look up with a clear error."""
from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps lower-case names to objects; unknown names raise ConfigError listing the known ones."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, *aliases: str) -> Callable[[T], T]:
        """Decorator registering `obj` under `name` (and aliases)."""

        def deco(obj: T) -> T:
            for key in (name, *aliases):
                key = key.lower()
                if key in self._items:
                    raise ValueError(f"{self.kind} '{key}' registered twice")
                self._items[key] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        """Return the object registered as `name` (case-insensitive)."""
        key = name.lower()
        if key not in self._items:
            known = ", ".join(sorted(self._items))
            raise ConfigError(f"unknown {self.kind} '{name}'; known: {known}")
        return self._items[key]

    def names(self) -> list[str]:
        """Sorted registered names."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
