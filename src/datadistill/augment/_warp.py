"""Dtype plumbing shared by the kornia-based geometric ops."""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def warp_in_float(fn: Callable[[Tensor, Tensor], Tensor], x: Tensor, matrix: Tensor) -> Tensor:
    """Run `fn(x, matrix)` with matching dtypes: half/bfloat16 images are warped in float32 and cast back."""
    work = x.float() if x.dtype in _LOW_PRECISION else x
    return fn(work, matrix.to(device=x.device, dtype=work.dtype)).to(x.dtype)
