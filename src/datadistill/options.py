"""Options read from key=value text and checked against the type of the field they set (method configs,
RunConfig, model factories)."""
from __future__ import annotations

import json
import numbers
import types
import typing
from typing import Any

from .errors import ConfigError

_KINDS = {float: "a number", int: "a whole number", bool: "true or false", str: "a string"}


def typed(key: str, value: Any, hint: Any, owner: str) -> Any:
    """`value` as the field's type (float, int, bool or str, optionally None; numpy scalars count as numbers,
    whole floats such as 1e3 as ints) or a one-line ConfigError; fields of other types take any value."""
    optional = typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)
    base = next(a for a in typing.get_args(hint) if a is not type(None)) if optional else hint
    if base not in _KINDS or (value is None and optional):
        return value
    number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if base is float and number:
        return float(value)
    if base is int and number and float(value).is_integer():
        return int(value)
    if base in (bool, str) and isinstance(value, base):
        return value
    raise ConfigError(f"option {key}={value!r} of {owner} must be {_KINDS[base]}{' or null' if optional else ''}")


def key_value(pair: str, example: str) -> tuple[str, Any]:
    """'lr-img=0.1' -> ('lr_img', 0.1): the key with dashes as underscores, the value a JSON literal (number,
    true/false, null) where it parses as one, else the string; a one-line ConfigError citing `example` otherwise."""
    key, sep, value = pair.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or not key:
        raise ConfigError(f"option '{pair}' is not key=value (e.g. {example})")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value.strip()


def parse_spec(spec: str, example: str, what: str) -> tuple[str, dict[str, Any]]:
    """A name with options after colons, as (name, options): 'convnet:depth=4:act=sigmoid' -> ('convnet',
    {'depth': 4, 'act': 'sigmoid'}), values as `key_value` reads them; a key given twice is a one-line
    ConfigError naming `what` the spec is (e.g. 'model')."""
    name, *pairs = spec.split(":")
    kw: dict[str, Any] = {}
    for pair in pairs:
        key, value = key_value(pair, example)
        if key in kw:
            raise ConfigError(f"{what} option '{key}' is given twice in '{spec}'")
        kw[key] = value
    return name.strip(), kw
