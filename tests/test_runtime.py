import pytest
import torch

from datadistill import runtime
from datadistill.runtime import CPU_BF16_ENV, autocast, cpuinfo_has_bf16, effective_precision, native_bf16

CPU = torch.device("cpu")
ZEN3 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx avx2 fma bmi2\n"
ZEN4 = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n"
SAPPHIRE = "flags\t\t: avx512f amx_bf16 amx_tile\n"
GRAVITON3 = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n"
GRAVITON2 = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes\n"


@pytest.mark.parametrize("text, expected", [(ZEN3, False), (ZEN4, True), (SAPPHIRE, True), (GRAVITON3, True),
                                            (GRAVITON2, False), ("", False)])
def test_cpuinfo_bf16_flags(text: str, expected: bool) -> None:
    assert cpuinfo_has_bf16(text) is expected


def test_flag_must_match_whole_word() -> None:
    assert not cpuinfo_has_bf16("flags\t: avx512_bf16x notbf16\n")


@pytest.mark.parametrize("forced", ["0", "1"])
def test_env_overrides_the_cpu_check(monkeypatch: pytest.MonkeyPatch, forced: str) -> None:
    monkeypatch.setenv(CPU_BF16_ENV, forced)
    assert native_bf16(CPU) is (forced == "1")
    assert effective_precision(CPU, "bf16") == ("bf16" if forced == "1" else "fp32")
    with autocast(CPU, "bf16"):
        assert torch.is_autocast_enabled("cpu") is (forced == "1")
        out = torch.nn.Linear(4, 3)(torch.ones(2, 4))
    assert out.dtype == (torch.bfloat16 if forced == "1" else torch.float32)


def test_fp32_never_autocasts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CPU_BF16_ENV, "1")
    assert effective_precision(CPU, "fp32") == "fp32"
    with autocast(CPU, "fp32"):
        assert not torch.is_autocast_enabled("cpu")


def test_without_override_the_machine_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CPU_BF16_ENV, raising=False)
    monkeypatch.setattr(runtime, "_cpu_bf16_from_cpuinfo", lambda: False)
    assert effective_precision(CPU, "bf16") == "fp32"
    monkeypatch.setattr(runtime, "_cpu_bf16_from_cpuinfo", lambda: True)
    assert effective_precision(CPU, "bf16") == "bf16"


_FAULTS = """
import resource, sys, torch
from datadistill import runtime
if not runtime.tune_allocator():
    sys.exit(3)
def faults():  # ~1.5 GB, what a 1,000-image ConvNet test pass frees at a time
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = torch.empty(375_000_000).fill_(1.0)
    del block
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(*(faults() for _ in range(4)))
"""


def test_a_freed_block_of_a_test_pass_is_reused_without_page_faults() -> None:
    import subprocess
    import sys

    # a fresh process, as a CLI run starts: in a long-lived one (pytest) earlier small allocations fragment the heap
    done = subprocess.run([sys.executable, "-c", _FAULTS], capture_output=True, text=True, timeout=120)
    if done.returncode == 3:
        pytest.skip("glibc's mallopt is not available")
    assert done.returncode == 0, done.stderr
    first, *later = (int(v) for v in done.stdout.split())
    assert first > 100_000  # the first touch of fresh memory faults (~4 KB a fault)...
    # ...later blocks reuse the kept heap instead of faulting it in again. Where a small allocation lands just
    # above the first block (it depends on the address layout), one later pass still grows the heap once; without
    # the kept heap every pass faults in the whole block again
    assert sum(later) < 1.5 * first and later[-1] < first // 10, (first, later)
