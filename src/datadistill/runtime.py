"""Process-level speed settings for CPU runs: threads and the allocator. Called by the CLI and benchmarks."""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from .errors import ConfigError

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4
_KEEP_FREE = 2**31 - 1  # bytes of freed heap kept before trimming: mallopt's largest value (an int)
_TOP_PAD = 2**28  # bytes added to every growth of the heap (and kept when it is trimmed)


def tune_allocator(keep_free: int = _KEEP_FREE, top_pad: int = _TOP_PAD) -> bool:
    """Keep freed memory in glibc's heap instead of returning large blocks to the OS.

    Activations of a 256-image ConvNet batch are ~130 MB; glibc serves such blocks with mmap and unmaps
    them on free, so every iteration pays page faults on fresh memory. Measured here: fwd+bwd of 256
    MNIST images 1.05 s -> 0.50 s. So no mmap, and the heap is trimmed only when about 2 GB of it is free
    (glibc's largest setting): a test pass of 1,000 MNIST images frees ~1.5 GB at a time, and with the
    earlier 1 GB threshold every pass gave it back and faulted it in again (3.7 million page faults and
    18 s of system time per 10,000 test images; 18.8 s -> 8.3 s a pass on an AVX2 host). The memory stays
    with the process for its next pass; its peak is unchanged. `keep_free` / `top_pad` set the two
    thresholds (bench/bench_eval.py compares the earlier ones). Returns False where glibc's mallopt is not
    available.
    """
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    try:
        libc = ctypes.CDLL(libc_name)
        ok = all(libc.mallopt(opt, value) == 1 for opt, value in (
            (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, keep_free), (_M_TOP_PAD, top_pad)))
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


CPU_BF16_ENV = "DATADISTILL_CPU_BF16"  # '1' / '0': treat this CPU as computing bf16 natively or not
_BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})  # x86 flags; 'bf16' in aarch64's Features


def cpuinfo_has_bf16(cpuinfo: str) -> bool:
    """Whether a /proc/cpuinfo text lists bf16 instructions (x86 'flags' or aarch64 'Features' line)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            return not _BF16_CPU_FLAGS.isdisjoint(value.split())
    return False


@functools.cache
def cpuinfo_text() -> str:
    """/proc/cpuinfo ('' where there is none: macOS, Windows)."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def _cpu_bf16_from_cpuinfo() -> bool:
    return cpuinfo_has_bf16(cpuinfo_text())  # no cpuinfo: no bf16 assumed, fp32 is always correct


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bf16 natively, so that bf16 autocast is a speed-up rather than a slow-down.

    On a CPU without bf16 instructions (AVX2 only, e.g. AMD Zen 3) oneDNN has no fast bf16 kernels: measured
    here, a ConvNet training step on 256 MNIST images takes 15.5 s under bf16 autocast against 0.95 s in
    float32 (16x slower), where a CPU with AVX512-BF16 (Zen 4) runs it faster in bf16 than in float32.
    The environment variable DATADISTILL_CPU_BF16=1 / 0 overrides the CPU check.
    """
    if device.type == "cpu":
        forced = os.environ.get(CPU_BF16_ENV, "").strip()
        if forced in ("0", "1"):
            return forced == "1"
        return _cpu_bf16_from_cpuinfo()
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return True


def effective_precision(device: torch.device, precision: str) -> str:
    """The precision a run computes in: 'bf16' where it was asked for and the device has it natively, else fp32.

    bf16 is a speed setting of our protocols, not part of the papers' recipes (the reference computes in
    float32), and it was measured to keep results (docs/results.md, DM bf16 vs fp32), so where it would only
    slow a run down the run computes in float32 instead, and records so.
    """
    if precision == "bf16" and not native_bf16(device):
        _log_fallback_once(device.type)
        return "fp32"
    return precision


@functools.cache
def _log_fallback_once(device_type: str) -> None:
    log.info("bf16 asked for, but this %s has no native bf16 (AVX512-BF16 / AMX / ARM BF16): computing in "
             "float32, which is faster here (set %s=1 to force bf16)", device_type, CPU_BF16_ENV)


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """An autocast context: bf16 when `precision` is 'bf16' and the device has it natively, else disabled."""
    enabled = effective_precision(device, precision) == "bf16"
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


@contextmanager
def compile_errors() -> Iterator[None]:
    """Inside: a torch.compile backend failure (e.g. no C++ compiler on this machine) becomes a one-line
    ConfigError. torch.compile compiles on the first call, so the calls go inside, not only the compile."""
    # imported here: importing torch._dynamo is slow, and only a compiling run needs it
    from torch._dynamo.exc import BackendCompilerFailed

    try:
        yield
    except BackendCompilerFailed as e:
        raise ConfigError(f"torch.compile failed here ({type(e.inner_exception).__name__}); install a C++ "
                          "compiler or run without compile") from e


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
        state = {f"net.{k}": v for k, v in net.named_parameters()}
        state.update({f"net.{k}": v for k, v in net.named_buffers()})
        with compile_errors():
            return self._fn(state, x)
