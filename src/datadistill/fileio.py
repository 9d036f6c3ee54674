"""Atomic writes of the files a run leaves behind (tensors in safetensors, settings in JSON).

Every file is written beside its target and renamed over it, so an interrupted write never leaves a half file.
safetensors' own writer creates files readable by their owner only (mode 0600); serialising to bytes and writing
them here gives artifacts the permissions of any other file the user creates (the umask decides), so a distilled
set or an expert buffer in a shared folder is readable by the people it is shared with.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save

from .errors import ArtifactError

META_KEY = "datadistill"


def _replace_atomically(path: Path, data: bytes) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def save_tensors(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write tensors (made contiguous, on the CPU) with `meta` as the file's datadistill metadata."""
    flat = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    return _replace_atomically(Path(path), save(flat, metadata={META_KEY: json.dumps(meta)}))


def write_json(path: str | Path, obj: Any) -> Path:
    """Write `obj` as indented JSON with sorted keys."""
    return _replace_atomically(Path(path), json.dumps(obj, indent=2, sort_keys=True).encode())


def handle_meta(f: Any) -> str | None:
    """The datadistill metadata string of an open safetensors handle (`safe_open`), or None."""
    return (f.metadata() or {}).get(META_KEY)


def load_meta(path: str | Path) -> str:
    """The datadistill metadata string of a safetensors file."""
    with safe_open(str(path), framework="pt") as f:
        meta = handle_meta(f)
    if meta is None:
        raise ArtifactError(f"{path} has no datadistill metadata")
    return meta
