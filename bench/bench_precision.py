"""Is bf16 autocast a speed-up on this CPU? What `precision='bf16'` computes in here (runtime.native_bf16).

  python bench/bench_precision.py            # ConvNet on MNIST-sized input
  python bench/bench_precision.py --reps 5

Two passes the library spends its time in, each in float32 and under bf16 autocast (forced, whatever this CPU
is): a training step of a ConvNet on 256 images (evaluation, whole-data and expert training) and a gradient-free
embedding of 512 images (DM's real pass). Random inputs: the cost does not depend on the values. Reports the
median of --reps calls after one warm-up call, and the precision the library computes a 'bf16' setting in here.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import append_jsonl, append_markdown, command_line, machine, time_calls  # noqa: E402

from datadistill.models import create_model  # noqa: E402
from datadistill.runtime import effective_precision, setup_runtime  # noqa: E402

CPU = torch.device("cpu")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args()
    setup_runtime(None)
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(0)
    net = create_model("convnet", 1, 10, 28, generator=gen)
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    x256, y256 = torch.randn(256, 1, 28, 28, generator=gen), torch.randint(0, 10, (256,), generator=gen)
    x512 = torch.randn(512, 1, 28, 28, generator=gen)

    def step(bf16: bool) -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(net(x256), y256)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def embed(bf16: bool) -> None:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            net.embed(x512)

    rows, m = [], machine()
    for name, fn in (("training step, 256 images", step), ("embedding, 512 images, no grad", embed)):
        fp32 = time_calls(lambda fn=fn: fn(False), args.reps)[0]
        bf16 = time_calls(lambda fn=fn: fn(True), args.reps)[0]
        rows.append(f"| {name} | {fp32 * 1000:.0f} ms | {bf16 * 1000:.0f} ms | {bf16 / fp32:.2f}x |")
        append_jsonl({"bench": "precision_probe", "method": None, "dataset": "mnist", "ipc": None, "protocol": None,
                      "pass": name, "fp32_ms": round(fp32 * 1000, 1), "bf16_ms": round(bf16 * 1000, 1),
                      "iterations": args.reps, "budgeted": False, "command": command_line()})
    wall = time.perf_counter() - t0
    used = effective_precision(CPU, "bf16")
    append_markdown(
        "bf16 autocast against float32 on this CPU (ConvNet, MNIST-sized input)",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}; wall "
        f"{wall:.0f} s. Median of "
        f"{args.reps} calls after a warm-up call; bf16 forced on with torch.autocast whatever the CPU.\n\n"
        "| pass | float32 | bf16 autocast | bf16 / float32 time |\n| --- | --- | --- | --- |\n" + "\n".join(rows)
        + f"\n\nA 'bf16' setting of the library computes in **{used}** on this machine (runtime.native_bf16).")


if __name__ == "__main__":
    main()
