"""Process-level speed settings for CPU runs: threads and the allocator. Called by the CLI and benchmarks."""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

import torch

from .errors import ConfigError

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4


def tune_allocator() -> bool:
    """Keep freed memory in glibc's heap instead of returning large blocks to the OS.

    Activations of a 256-image ConvNet batch are ~130 MB; glibc serves such blocks with mmap and unmaps
    them on free, so every iteration pays page faults on fresh memory. Measured here: fwd+bwd of 256
    MNIST images 1.05 s -> 0.50 s. Returns False where glibc's mallopt is not available.
    """
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    try:
        libc = ctypes.CDLL(libc_name)
        ok = libc.mallopt(_M_MMAP_MAX, 0) == 1 and libc.mallopt(_M_TRIM_THRESHOLD, 2**30) == 1
    except (OSError, AttributeError):
        return False
    log.debug("glibc allocator tuned: %s", ok)
    return ok


def setup_runtime(threads: int | None = None, flush_denormal: bool = True) -> None:
    """Thread count (default: this process's share of the cores), allocator tuning, denormal flushing.

    Flushing denormals (values below ~1e-38 become 0) spares the CPU's slow path for them in the
    convolution kernels: measured here 5-8 % off a ConvNet training step on MNIST, with no effect on
    results (values this small carry no weight in a training step).
    """
    if threads is None:  # the cores this process may use, shared among torchrun's processes on this machine
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        threads = cores // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    torch.set_num_threads(max(1, threads))
    tune_allocator()
    if flush_denormal:
        torch.set_flush_denormal(True)


def resolve_device(device: str = "auto") -> torch.device:
    """'auto' -> cuda when present, else mps, else cpu."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """An autocast context for 'bf16' (enabled) or 'fp32' (disabled)."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


class _EmbedView(torch.nn.Module):
    """`forward` is the wrapped network's `embed`, so functional_call can run it."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.embed(x)


class CompiledEmbed:
    """`net.embed(x)` for every network of one architecture, compiled once with torch.compile (inductor).

    The weights are inputs of the compiled function (functional_call over a template network), so the fresh
    network DM draws every iteration reuses the same compiled code instead of recompiling. Measured here
    (`bench/bench_compile.py`): a gradient-free bf16 ConvNet embedding of 512 MNIST images 1.19x faster than
    eager, after a first call of ~5 s. Needs a C++ compiler at run time; off by default in the methods.
    """

    def __init__(self, template: torch.nn.Module) -> None:
        self._view = _EmbedView(template)
        self._fn = torch.compile(self._call, dynamic=False)

    def _call(self, state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(self._view, state, (x,))

    def __call__(self, net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        from torch._dynamo.exc import BackendCompilerFailed  # loaded by torch.compile already

        state = {f"net.{k}": v for k, v in net.named_parameters()}
        state.update({f"net.{k}": v for k, v in net.named_buffers()})
        try:
            return self._fn(state, x)
        except BackendCompilerFailed as e:  # e.g. no C++ compiler on this machine
            raise ConfigError(f"torch.compile failed here ({type(e.inner_exception).__name__}); install a C++ "
                              "compiler or run without compile=true") from e
