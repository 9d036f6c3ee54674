"""Do torch.compile or channels-last pay off for the passes the methods spend their time in? (issue 7)

  python bench/bench_compile.py                 # ConvNet on MNIST-sized input, bf16 autocast
  python bench/bench_compile.py --reps 30
  python bench/bench_compile.py --archs mlp,convnet,lenet,alexnet,vgg11,resnet18   # + a training step per network

Three passes, each eager, compiled (inductor, default mode) and channels-last (eager): a training step on 100
images (DC's inner loop, evaluation), the parameter gradient of 256 images (DC's real-gradient pass), and a
gradient-free embedding of 512 images (DM's real pass). Random inputs: the cost does not depend on the values.
Reports the median of --reps calls after warm-up, and the compile time. The library switches nothing on from
this: it records whether a switch would pay (the methods' `compile=true`, evaluation's `--compile`).

--archs adds, per architecture, a training step on 256 images (the whole-data recipe's batch) eager and compiled:
whether `bench_whole.py --compile` pays for that network.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import append_jsonl, append_markdown, command_line, machine, time_calls  # noqa: E402

from datadistill.models import create_model  # noqa: E402
from datadistill.runtime import autocast, setup_runtime  # noqa: E402

CPU = torch.device("cpu")


def passes(net: torch.nn.Module, embed_fn, channels_last: bool) -> dict:
    gen = torch.Generator().manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x100 = torch.randn(100, 1, 28, 28, generator=gen).contiguous(memory_format=fmt)
    x256 = torch.randn(256, 1, 28, 28, generator=gen).contiguous(memory_format=fmt)
    x512 = torch.randn(512, 1, 28, 28, generator=gen).contiguous(memory_format=fmt)
    y100, y256 = torch.randint(0, 10, (100,), generator=gen), torch.zeros(256, dtype=torch.long)
    params = list(net.parameters())
    opt = torch.optim.SGD(params, lr=0.01)

    def train_step() -> None:
        with autocast(CPU, "bf16"):
            loss = F.cross_entropy(net(x100), y100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def real_grad() -> None:
        with autocast(CPU, "bf16"):
            loss = F.cross_entropy(net(x256), y256)
        torch.autograd.grad(loss, params)

    @torch.no_grad()
    def embed() -> None:
        with autocast(CPU, "bf16"):
            embed_fn(x512)

    return {"train step, 100 images": train_step, "parameter gradient, 256 images": real_grad,
            "embedding, 512 images (no grad)": embed}


def arch_step(model: str, compiled: bool, reps: int) -> tuple[float, float]:
    """Median seconds and first-call seconds of a bf16 SGD step of `model` on 256 MNIST-sized images."""
    gen = torch.Generator().manual_seed(0)
    net = create_model(model, 1, 10, (28, 28), generator=gen)
    x, y = torch.randn(256, 1, 28, 28, generator=gen), torch.randint(0, 10, (256,), generator=gen)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    forward = torch.compile(net) if compiled else net

    def step() -> None:
        with autocast(CPU, "bf16"):
            loss = F.cross_entropy(forward(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return time_calls(step, reps, warmup=3)


def arch_table(models: list[str], reps: int) -> str:
    rows = []
    for model in models:
        (eager, _), (comp, first) = arch_step(model, False, reps), arch_step(model, True, reps)
        rows.append(f"| {model} | {eager * 1000:.0f} ms | {comp * 1000:.0f} ms ({eager / comp:.2f}x) | {first:.1f} s |")
        append_jsonl({"bench": "compile_probe", "method": None, "dataset": "mnist", "ipc": None, "protocol": None,
                      "pass": "train step, 256 images", "model": model, "eager_ms": round(eager * 1000, 2),
                      "compiled_ms": round(comp * 1000, 2), "compile_s": round(first, 1), "iterations": reps,
                      "budgeted": False, "command": command_line()})
    return ("\n\nTraining step on 256 images (the whole-data batch) per architecture:\n\n"
            "| network | eager | compiled (inductor) | first compiled call |\n| --- | --- | --- | --- |\n"
            + "\n".join(rows))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--archs", default="", help="comma-separated networks for the per-architecture table")
    args = p.parse_args()
    setup_runtime(None)
    results: dict[str, dict[str, tuple[float, float]]] = {}
    for variant in ("eager", "compiled", "channels-last"):
        net = create_model("convnet", 1, 10, (28, 28), generator=torch.Generator().manual_seed(0))
        if variant == "channels-last":
            net = net.to(memory_format=torch.channels_last)
        embed_fn = net.embed
        if variant == "compiled":
            net, embed_fn = torch.compile(net), torch.compile(net.embed)
        for name, fn in passes(net, embed_fn, variant == "channels-last").items():
            results.setdefault(name, {})[variant] = time_calls(fn, args.reps, warmup=3)
    rows = []
    for name, r in results.items():
        eager = r["eager"][0]
        cells = " | ".join(f"{r[v][0] * 1000:.1f} ms ({eager / r[v][0]:.2f}x)" for v in ("eager", "compiled",
                                                                                          "channels-last"))
        rows.append(f"| {name} | {cells} | {r['compiled'][1]:.1f} s |")
        append_jsonl({"bench": "compile_probe", "method": None, "dataset": "mnist", "ipc": None, "protocol": None,
                      "pass": name, "eager_ms": round(eager * 1000, 2),
                      "compiled_ms": round(r["compiled"][0] * 1000, 2),
                      "channels_last_ms": round(r["channels-last"][0] * 1000, 2),
                      "compile_s": round(r["compiled"][1], 1), "iterations": args.reps, "budgeted": False,
                      "command": command_line()})
    m = machine()
    append_markdown(
        "torch.compile and channels-last on the methods' ConvNet passes (bf16 autocast)",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}. Median of "
        f"{args.reps} calls after warm-up; speed-up against eager in brackets.\n\n"
        "| pass | eager | compiled (inductor) | channels-last | first compiled call |\n"
        "| --- | --- | --- | --- | --- |\n" + "\n".join(rows)
        + (arch_table([a.strip() for a in args.archs.split(",") if a.strip()], args.reps) if args.archs else ""))


if __name__ == "__main__":
    main()
