"""Do torch.compile or channels-last pay off for the passes the methods spend their time in? (issue 7)

  python bench/bench_compile.py                 # ConvNet on MNIST-sized input, bf16 autocast
  python bench/bench_compile.py --reps 30

Three passes, each eager, compiled (inductor, default mode) and channels-last (eager): a training step on 100
images (DC's inner loop, evaluation), the parameter gradient of 256 images (DC's real-gradient pass), and a
gradient-free embedding of 512 images (DM's real pass). Random inputs: the cost does not depend on the values.
Reports the median of --reps calls after warm-up, and the compile time. The library switches nothing on from
this: it records whether a switch would pay.
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=15)
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
        "| --- | --- | --- | --- | --- |\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
