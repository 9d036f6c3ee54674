"""Coreset rows of the DC paper's Table 1 (issue 5): random, herding, k-center, forgetting at IPC 1/10/50.

  python bench/bench_coresets.py --dataset mnist --ipc 1 10 50 --sets 3 --models 2
  python bench/bench_coresets.py --dataset fashion-mnist --selections herding kcenter
  python bench/bench_coresets.py --dataset mnist --selections forgetting --feature-augment dc   # README's MNIST row

Each selection is evaluated under the dataset's DC protocol (dc2021-aug on MNIST, dc2021 otherwise; `--protocol`
picks another, e.g. dc2021-aug-reference), over
`--sets` selection seeds x `--models` fresh ConvNets (the paper: 5 x 20). The feature network (whole-data
ConvNet by default, also the source of the forgetting counts; `--feature-recipe toneva-mnist` counts with
Toneva et al.'s MNIST run instead) is trained once per seed and cached in bench/out/cache, and
so is every evaluated ConvNet's accuracy (bench/out/cache/coresets.jsonl, keyed by the selected images and the
protocol): a cell stopped part-way (an IPC 50 network takes ~30 min here) continues with the models it lacks.
Results go to bench/results.jsonl and docs/results.md; a rerun whose every network was cached measured nothing
new and only prints its table. `--keep DIR` also saves each evaluated selection, its networks' accuracies attached,
as a baseline run folder (DIR/<dataset>_<selection label>_ipc<IPC>_s<seed>): what `datadistill report` reads to
put the coreset rows beside the distilled sets (rerunning a measured command with `--keep` retrains nothing).
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, append_jsonl, append_markdown, command_line, machine, peak_rss_mb, progress  # noqa: E402

from datadistill import api  # noqa: E402
from datadistill.augment import AUGMENTATIONS  # noqa: E402
from datadistill.baselines import FEATURE_RECIPES, feature_recipe, feature_source  # noqa: E402
from datadistill.cli.main import parse_options  # noqa: E402
from datadistill.coresets import SelectionSource, coreset_set, selection_label  # noqa: E402
from datadistill.evaluate import EvalResult  # noqa: E402
from datadistill.evaluate.protocols import PROTOCOLS, dc_protocol, get_protocol  # noqa: E402
from datadistill.published import published  # noqa: E402
from datadistill.run import environment  # noqa: E402
from datadistill.runtime import setup_runtime  # noqa: E402
from datadistill.synthetic import SyntheticSet  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    p.add_argument("--ipc", type=int, nargs="+", default=[1, 10, 50])
    p.add_argument("--selections", nargs="+", default=["random", "herding", "kcenter", "forgetting"])
    p.add_argument("--sets", type=int, default=3, help="selection seeds (feature networks) per cell")
    p.add_argument("--models", type=int, default=2, help="fresh ConvNets per set")
    p.add_argument("--feature-recipe", default="whole", choices=FEATURE_RECIPES.names(),
                   help="how the feature network is trained (toneva-mnist: Toneva et al.'s MNIST counting run)")
    p.add_argument("--feature-epochs", type=int, default=None, help="its epochs (default: the recipe's)")
    p.add_argument("--feature-augment", default=None, choices=AUGMENTATIONS.names(),
                   help="its augmentation (dc: the DC paper's MNIST crop-scale-rotate; default: the recipe's)")
    p.add_argument("--opt", action="append", default=[],
                   help="selection option key=value, repeatable (e.g. never_learned=first for forgetting)")
    p.add_argument("--protocol", default=None, choices=PROTOCOLS.names(),
                   help="evaluation protocol (default: the dataset's DC protocol; dc2021-aug-reference: dc2021-aug "
                   "with the reference's exact augmentation pixels)")
    p.add_argument("--epochs", type=int, default=None,
                   help="train the evaluated ConvNets this many epochs instead of the protocol's (labelled NAME/Nep)")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the ConvNets' training (the same protocol; 1.2x on an AVX512 Xeon)")
    p.add_argument("--keep", type=Path, default=None,
                   help="also save each evaluated selection with its accuracies as a run folder under this folder "
                   "(report input)")
    p.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args()
    opts = parse_options(args.opt)
    label = "".join(f" ({k}={v})" for k, v in opts.items())
    setup_runtime(None)
    data = api.resolve_data(args.dataset, args.data_root)
    protocol = args.protocol or dc_protocol(args.dataset)
    proto = get_protocol(protocol) if args.epochs is None else get_protocol(protocol, epochs=args.epochs)
    if args.epochs is not None:
        protocol = f"{protocol}/{args.epochs}ep"
    cache = ROOT / "bench" / "out" / "cache"
    recipe = feature_recipe(args.feature_recipe, args.feature_epochs, args.feature_augment)
    rows, recs = [], []
    sources: dict[int, SelectionSource] = {}  # one feature network (and its features) per seed
    for name in args.selections:
        for ipc in args.ipc:
            t0 = time.perf_counter()
            accs, cached = [], 0
            for seed in range(args.sets):
                source = sources.setdefault(seed, feature_source(data, recipe, seed, cache))
                syn = coreset_set(name, source, ipc, seed, **opts)
                res = api.evaluate(syn, data, runs=args.models, protocol=proto, seed=seed, compile=args.compile,
                                   cache_file=cache / "coresets.jsonl", on_model=progress(f"{name} ipc {ipc} set {seed}", t0))
                accs += res.accs
                cached += res.config["cached_models"]
                if args.keep:
                    keep(syn, res, args.keep, protocol)
            wall = time.perf_counter() - t0
            mean, std = statistics.mean(accs), statistics.pstdev(accs)
            pub = published(name, args.dataset, ipc) or "-"
            rec = {"bench": "coreset", "method": name, "dataset": args.dataset, "ipc": ipc, "protocol": protocol,
                   "acc_mean": round(mean, 2), "acc_std": round(std, 2), "n_models": len(accs), "iterations": 0,
                   "wall_s": round(wall, 1), "peak_rss_mb": peak_rss_mb(), "budgeted": False,
                   "command": command_line(), "sets": args.sets, "accs": accs, "published": pub, "options": opts,
                   "cached_models": cached}
            recs.append(rec)
            rows.append(f"| {name}{label} | {ipc} | {mean:.2f} +- {std:.2f} | {pub} | {len(accs)} ({cached} cached) "
                        f"| {wall / 60:.1f} min |")
    if all(r["cached_models"] == r["n_models"] for r in recs):
        print("every network was cached (nothing newly measured, nothing recorded):\n" + "\n".join(rows))
        return
    for rec in recs:
        append_jsonl(rec)
    m = machine()
    append_markdown(
        f"Coreset baselines, {args.dataset} ({protocol})",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}. "
        f"{args.sets} selection seeds x {args.models} ConvNets per cell (the paper: 5 x 20); feature networks: "
        f"whole-data {recipe.model} ({recipe.protocol.epochs} epochs of the {args.feature_recipe} recipe"
        + ("" if recipe.protocol.augment == "none" else f", augmentation {recipe.protocol.augment}")
        + ")" + (", evaluation compiled (torch.compile)" if args.compile else "") + ", wall time includes "
        "training them when not cached; cached models (accuracies from an earlier, interrupted run of the same "
        "cell) cost no time here.\n\n"
        "| selection | IPC | ours (%) | published | models | wall |\n| --- | --- | --- | --- | --- | --- |\n"
        + "\n".join(rows))


def keep(syn: SyntheticSet, res: EvalResult, folder: Path, protocol: str) -> Path:
    """Save a selection with its evaluation as a baseline run folder (as `datadistill baseline NAME --out`
    writes one), named by dataset, selection label (options, a non-default feature network), IPC and seed."""
    slug = re.sub(r"[^a-z0-9=.-]+", "_", selection_label(syn.method, syn.config).lower()).strip("_")
    target = folder / f"{syn.info.name}_{slug}_ipc{syn.ipc}_s{syn.seed}" / "synthetic.safetensors"
    syn.config["protocol"] = protocol
    syn.config["environment"] = environment()
    syn.evaluations.append(res.to_dict())
    syn.save(target)
    return target


if __name__ == "__main__":
    main()
