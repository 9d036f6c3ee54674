"""The DC paper's single-factor ConvNet ablations, evaluation side (issue 5, item 4; its supplementary's Figure
F10, Table T3 and Figure F12): a set condensed with the default ConvNet, trained on each ConvNet variant of a
factor (activation, pooling, normalization, depth, width), beside the paper's row for default-ConvNet sets (DC,
MNIST, IPC 1).

  python bench/bench_ablation.py bench/out/dc_mnist_ipc1_s0 --runs 5                 # every factor
  python bench/bench_ablation.py RUN --factors activation pooling --runs 2

The variants are model specs (`convnet:act=sigmoid`), as `--model` takes them anywhere. Each network's accuracy
is cached as soon as it is known in bench/out/cache/ablation.jsonl (keyed by the set, the variant, the protocol
and the seed), so a stopped run continues with the networks it lacks; the default ConvNet's cell comes from the
set's own evaluations when they hold `--runs` networks under the same protocol. Results go to bench/results.jsonl
and docs/results.md.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, append_jsonl, append_markdown, command_line, machine, peak_rss_mb, progress  # noqa: E402

from datadistill import api  # noqa: E402
from datadistill.evaluate import EvalResult, dc_protocol  # noqa: E402
from datadistill.published import ablation_factors, published_ablation, within_std  # noqa: E402
from datadistill.runtime import setup_runtime  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, help="run folder or artifact of a set made with the default ConvNet")
    p.add_argument("--factors", nargs="+", default=ablation_factors(), choices=ablation_factors())
    p.add_argument("--runs", type=int, default=5, help="fresh networks per variant")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args()
    setup_runtime(None)
    syn = api.load(args.run)
    data = api.resolve_data(syn.info.name, args.data_root)
    protocol = syn.config.get("protocol") or dc_protocol(syn.info.name)
    cache = ROOT / "bench" / "out" / "cache" / "ablation.jsonl"
    own = [EvalResult.from_dict(e) for e in syn.evaluations
           if e["model"] == "convnet" and e["protocol"] == protocol and len(e["accs"]) >= args.runs]
    cells: dict[str, tuple[EvalResult, float | None]] = {"convnet": (own[-1], None)} if own else {}
    t_all = time.perf_counter()
    sections = []
    for factor in args.factors:
        rows = []
        for spec, pub in published_ablation(factor).items():
            if spec not in cells:
                t0 = time.perf_counter()
                res = api.evaluate(syn, data, model=spec, runs=args.runs, protocol=protocol, seed=args.seed,
                                   cache_file=cache, on_model=progress(f"{factor} {spec}", t0))
                wall = None if res.config["cached_models"] == args.runs else time.perf_counter() - t0
                cells[spec] = (res, wall)
                print(f"{spec}: {res.mean:.2f} +- {res.std:.2f} (published {pub})", flush=True)
                append_jsonl({"bench": "ablation", "method": syn.method, "dataset": syn.info.name, "ipc": syn.ipc,
                              "protocol": protocol, "acc_mean": round(res.mean, 2), "acc_std": round(res.std, 2),
                              "n_models": len(res.accs), "iterations": syn.config.get("completed_iterations"),
                              "wall_s": None if wall is None else round(wall, 1), "s_per_iter": None,
                              "peak_rss_mb": peak_rss_mb(), "budgeted": False, "command": command_line(),
                              "factor": factor, "trained_on": spec, "published": pub, "accs": res.accs})
            res, wall = cells[spec]
            mark = {True: "yes", False: "no", None: "-"}[within_std(res.mean, pub)]
            rows.append(f"| `{spec}` | {res.mean:.2f} +- {res.std:.2f} | {pub} | {res.mean - float(pub.split()[0]):+.1f} "
                        f"| {mark} | {'cached' if wall is None else f'{wall / 60:.1f} min'} |")
        sections.append(f"**{factor}**\n\n| trained on | ours (%) | published | ours - published | within std | wall |\n"
                        "| --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows))
    m = machine()
    append_markdown(
        f"ConvNet ablations, evaluation side: {syn.method.upper()} {syn.info.name} IPC {syn.ipc}",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}; "
        f"{(time.perf_counter() - t_all) / 60:.1f} min in all. Set: `{args.run}` (made with the default ConvNet); "
        f"every variant {args.runs} fresh networks, protocol {protocol}, seed {args.seed}. Published: the DC paper's "
        "supplementary (Figure F10, Table T3, Figure F12), the row of sets condensed with the default ConvNet "
        "(ReLU, average pooling, InstanceNorm, depth 3, width 128). Cells marked cached were computed by an earlier "
        "command (the default ConvNet's: the set's own evaluation).\n\n" + "\n\n".join(sections))


if __name__ == "__main__":
    main()
