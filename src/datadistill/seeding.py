"""Explicit random streams: every consumer gets its own torch.Generator derived from one seed."""
from __future__ import annotations

import hashlib

import torch


def derive_seed(seed: int, *stream: object) -> int:
    """A 63-bit seed derived deterministically from `seed` and a stream name (e.g. 'eval', 3)."""
    text = ":".join([str(seed), *map(str, stream)]).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little") >> 1


def make_generator(seed: int, *stream: object, device: str | torch.device = "cpu") -> torch.Generator:
    """A new generator seeded from (seed, stream); never touches the global RNG."""
    gen = torch.Generator(device=device)
    gen.manual_seed(derive_seed(seed, *stream))
    return gen
