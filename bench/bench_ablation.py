"""The DC paper's single-factor ConvNet ablations (issue 5, item 4; its supplementary's Figure F10, Table T3 and
Figure F12): a DC set (MNIST, IPC 1) trained on each ConvNet variant of a factor (activation, pooling,
normalization, depth, width), beside the paper's row for sets condensed with the same network. A set condensed with
the default ConvNet is the evaluation side, every factor; a set condensed with a variant (`bench_distill.py run
--method dc --opt model=convnet:depth=1`) is the condensation side, the row of that variant's factor.

  python bench/bench_ablation.py bench/out/dc_mnist_ipc1_s0 --runs 5                 # every factor
  python bench/bench_ablation.py RUN --factors activation pooling --runs 2
  python bench/bench_ablation.py bench/out/dc_mnist_ipc1_s0_depth1 --runs 5          # condensed with depth 1

The variants are model specs (`convnet:act=sigmoid`), as `--model` takes them anywhere. Each network's accuracy
is cached as soon as it is known in bench/out/cache/ablation.jsonl (keyed by the set, the variant, the protocol
and the seed), so a stopped run continues with the networks it lacks; each finished variant is also stored with
the set's evaluations (as `crossarch` stores its cells), where `datadistill report` finds it for its ablation
tables. A variant the set's own evaluations already hold with `--runs` networks under the same protocol (its run's
final evaluation, on the network it was condensed with) is not retrained. Results go to bench/results.jsonl and
docs/results.md; a cell whose every network was cached measured nothing and is not recorded again, and a rerun that
measured nothing records nothing.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, append_jsonl, append_markdown, command_line, machine, peak_rss_mb, progress  # noqa: E402

from datadistill import api  # noqa: E402
from datadistill.evaluate import EvalResult, dc_protocol, get_protocol  # noqa: E402
from datadistill.published import ablation_factors, ablation_spec, published_ablation, within_std  # noqa: E402
from datadistill.runtime import setup_runtime  # noqa: E402
from datadistill.synthetic import resolve_artifact  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, help="run folder or artifact of a DC set made with a ConvNet of the tables")
    p.add_argument("--factors", nargs="+", default=None, choices=ablation_factors(),
                   help="default: every factor with a row for the set's network")
    p.add_argument("--runs", type=int, default=5, help="fresh networks per variant")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args()
    setup_runtime(None)
    syn = api.load(args.run)
    made = ablation_spec(syn.made_with) or syn.made_with  # as the tables name it
    factors = args.factors or ablation_factors(made)
    missing = [f for f in factors if not published_ablation(f, made)]
    if not factors or missing:
        raise SystemExit(f"the ablation tables have no row for sets condensed with {made}"
                         f"{' in ' + ', '.join(missing) if missing else ''}; condense with the default ConvNet or "
                         "one variant of one factor (e.g. --opt model=convnet:depth=1)")
    data = api.resolve_data(syn.info.name, args.data_root)
    protocol = syn.config.get("protocol") or dc_protocol(syn.info.name)
    cache = ROOT / "bench" / "out" / "cache" / "ablation.jsonl"
    recipe = get_protocol(protocol)

    def as_now(e: dict) -> bool:
        """Made with `--runs` networks, the protocol and the augmentation it gives that network now (a BatchNorm
        ConvNet's evaluations from before its crop+noise rule are not)."""
        config = e.get("config", {})
        return (e["protocol"] == protocol and len(e["accs"]) >= args.runs and not config.get("model_kw")
                and config.get("protocol", {}).get("augment") == recipe.for_model(e["model"]).augment)

    # the set's own evaluations (the run's final one: its distilling network) fill their cells
    cells: dict[str, tuple[EvalResult, float | None]] = {
        ablation_spec(e["model"]) or e["model"]: (EvalResult.from_dict(e), None) for e in syn.evaluations if as_now(e)}
    t_all = time.perf_counter()
    sections = []
    for factor in factors:
        rows = []
        for spec, pub in published_ablation(factor, made).items():
            if spec not in cells:
                t0 = time.perf_counter()
                res = api.evaluate(syn, data, model=spec, runs=args.runs, protocol=protocol, seed=args.seed,
                                   cache_file=cache, on_model=progress(f"{factor} {spec}", t0))
                wall = None if res.config["cached_models"] == args.runs else time.perf_counter() - t0
                cells[spec] = (res, wall)
                syn.evaluations.append(res.to_dict())  # kept with the set too: `datadistill report` shows the table
                syn.save(resolve_artifact(args.run))
                print(f"{spec}: {res.mean:.2f} +- {res.std:.2f} (published {pub})", flush=True)
                if wall is not None:  # a cell all of whose networks were cached was recorded when they were trained
                    append_jsonl({"bench": "ablation", "method": syn.method, "dataset": syn.info.name,
                                  "ipc": syn.ipc, "protocol": protocol, "acc_mean": round(res.mean, 2),
                                  "acc_std": round(res.std, 2), "n_models": len(res.accs),
                                  "iterations": syn.config.get("completed_iterations"), "wall_s": round(wall, 1),
                                  "s_per_iter": None, "peak_rss_mb": peak_rss_mb(), "budgeted": False,
                                  "command": command_line(), "factor": factor, "condensed_with": made,
                                  "trained_on": spec, "published": pub, "accs": res.accs})
            res, wall = cells[spec]
            mark = {True: "yes", False: "no", None: "-"}[within_std(res.mean, pub)]
            rows.append(f"| `{spec}` | {res.mean:.2f} +- {res.std:.2f} | {pub} | {res.mean - float(pub.split()[0]):+.2f} "
                        f"| {mark} | {'cached' if wall is None else f'{wall / 60:.1f} min'} |")
        sections.append(f"**{factor}**\n\n| trained on | ours (%) | published | ours - published | within std | wall |\n"
                        "| --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows))
    if all(wall is None for _, wall in cells.values()):
        print("every cell was cached (nothing newly measured, nothing recorded)")
        return
    m = machine()
    side = "evaluation side" if made == "convnet" else f"condensation side, condensed with {made}"
    append_markdown(
        f"ConvNet ablations, {side}: {syn.method.upper()} {syn.info.name} IPC {syn.ipc}",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}; "
        f"{(time.perf_counter() - t_all) / 60:.1f} min in all. Set: `{args.run}` (condensed with `{made}`, "
        f"{syn.config.get('completed_iterations')} iterations); "
        f"every variant {args.runs} fresh networks, protocol {protocol}, seed {args.seed}. Published: the DC paper's "
        "supplementary (Figure F10, Table T3, Figure F12), the row of sets condensed with the same network "
        "(`convnet` is the default: ReLU, average pooling, InstanceNorm, depth 3, width 128). Cells marked cached were computed by an earlier "
        "command or are the set's own evaluation (that of its run, on the network it was condensed with).\n\n" + "\n\n".join(sections))


if __name__ == "__main__":
    main()
