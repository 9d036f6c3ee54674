"""Thin typer commands: each parses options and calls one library function; errors become one line."""
from __future__ import annotations

import functools
import re
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from .. import api
from ..augment import AUGMENTATIONS
from ..augment.zca import zca_transform
from ..baselines import FEATURE_RECIPES, WHOLE, feature_source, random_real, whole_dataset
from ..baselines import feature_recipe as feature_recipe_of
from ..coresets import coreset_set
from ..data import cache_dir, list_datasets
from ..distributed import World, close_world, init_world
from ..errors import DatadistillError
from ..evaluate import PROTOCOLS, EvalResult, dc_protocol, get_protocol
from ..evaluate.crossarch import cross_architecture
from ..experts import ExpertConfig, train_experts
from ..methods import list_methods
from ..models import SPEC_EXAMPLE, list_models
from ..options import key_value
from ..report import build_report
from ..run import environment
from ..runtime import effective_precision, resolve_device, setup_runtime
from ..synthetic import artifact_target, resolve_artifact
from .progress import ExpertProgress, RunProgress, Silent

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Dataset distillation: DD, DC, DSA, DM and MTT, the coreset baselines and the papers' "
                       "evaluation protocols.")
baseline_app = typer.Typer(no_args_is_help=True, help="Baseline sets: coreset selections of real images, the whole dataset.")
app.add_typer(baseline_app, name="baseline")
out = Console()
err = Console(stderr=True)


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Map library errors to a one-line message and exit code 2; Ctrl-C to 130 with a resume hint."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*args, **kwargs)
        except DatadistillError as e:
            close_world(wait=False)
            typer.echo(f"error: {e}", err=True)  # plain echo: never wrapped into several lines
            raise typer.Exit(2)
        except KeyboardInterrupt:
            close_world(wait=False)
            typer.echo("interrupted; the last checkpoint is kept: rerun the same command with --resume", err=True)
            raise typer.Exit(130)
        close_world()  # under torchrun: every process leaves the group together
        return result

    return wrapper


def parse_budget(text: Optional[str]) -> Optional[float]:
    """'90s', '10m', '2h', '1h30m' -> seconds."""
    if not text:
        return None
    parts = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?", text.strip())
    if not parts or not any(parts.groups()):
        raise DatadistillError(f"cannot read budget '{text}'; use e.g. 90s, 10m, 2h or 1h30m")
    h, m, s = (float(g) if g else 0.0 for g in parts.groups())
    return h * 3600 + m * 60 + s


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """key=value pairs with JSON-literal values (numbers, true/false, null) or plain strings."""
    return dict(key_value(pair, "--opt lr_img=0.1") for pair in pairs)


def start_processes(threads: Optional[int], device: str) -> World:
    """Threads and allocator for this process; under torchrun, join the job's process group."""
    setup_runtime(threads)
    return init_world(device)


def print_eval(label: str, res: Any) -> None:
    """One result line: label, mean +- std, every run."""
    runs = ", ".join(f"{a:.2f}" for a in res.accs)
    out.print(f"{label:<22} {res.mean:6.2f} +- {res.std:5.2f} %   ({res.model}, {res.protocol}, runs: {runs})")


def model_progress(runs: int) -> Callable[[int, float], None]:
    """Each tested network's accuracy on stderr as it comes (an on_model callback)."""
    return lambda i, acc: err.print(f"  model {i + 1}/{runs}: {acc:.2f} %")


def models_cache(artifact: Path) -> Path:
    """Where each evaluated network's accuracy is kept beside an artifact (<name>.models.jsonl), so an
    interrupted evaluation trains only the networks it did not finish."""
    return artifact.with_suffix(".models.jsonl")


def say_cached(res: EvalResult, runs: int, cache_file: Path | None) -> None:
    if res.config.get("cached_models"):
        err.print(f"  {res.config['cached_models']} of {runs} models from an earlier evaluation ({cache_file})")


@app.command()
@friendly
def distill(
    method: str = typer.Option("dc", help="dc, dsa (= dc with siamese augmentation), dm, mtt"),
    dataset: str = typer.Option("digits", help="dataset name (see `datadistill list`)"),
    ipc: int = typer.Option(1, help="synthetic images per class"),
    out_dir: Path = typer.Option(Path("runs/latest"), "--out", help="run folder"),
    data_root: Optional[Path] = typer.Option(None, help="folder holding the dataset files"),
    model: str = typer.Option("convnet", help="network used for distilling; options after colons make an "
                               "ablation network, e.g. convnet:depth=2:norm=batchnorm"),
    iterations: Optional[int] = typer.Option(None, help="outer iterations (default: published)"),
    seed: int = typer.Option(0, help="one seed makes the run repeatable bit for bit"),
    dsa: Optional[bool] = typer.Option(None, "--dsa/--no-dsa", help="differentiable siamese augmentation"),
    opt: list[str] = typer.Option([], "--opt", help="method option key=value, repeatable (e.g. init=real)"),
    init: Optional[str] = typer.Option(None, help="initialisation: noise|real or a coreset selection such as "
                                       "herding|kcenter (dc, dm, mtt); fixed|random|pretrained (dd)"),
    experts: Optional[Path] = typer.Option(None, help="expert buffer folder (mtt; see `datadistill experts`)"),
    pretrained: Optional[Path] = typer.Option(None, help="pre-trained networks (dd; see `datadistill pretrain`)"),
    zca: Optional[float] = typer.Option(None, help="ZCA-whiten the data with this eps (MTT paper: 0.1)"),
    eval_every: int = typer.Option(0, help="evaluate every N iterations (0: only at the end)"),
    eval_models: int = typer.Option(2, help="models per periodic evaluation"),
    final_eval: int = typer.Option(3, help="models trained on the final set (0: skip)"),
    protocol: Optional[str] = typer.Option(None, help="evaluation protocol (default: the method's paper)"),
    compare_random: bool = typer.Option(True, help="also evaluate random real images at the same IPC"),
    budget: Optional[str] = typer.Option(None, help="stop when distillation (not evaluation) has taken this long, over all resumes (e.g. 10m); evaluates and saves"),
    resume: bool = typer.Option(False, help="continue the run in --out from its last checkpoint"),
    threads: Optional[int] = typer.Option(None, help="torch threads (default: all cores)"),
    device: str = typer.Option("auto", help="auto (cuda, else mps, else cpu) | cpu | cuda | mps"),
) -> None:
    """Distill a dataset into IPC synthetic images per class; writes the run folder and prints accuracy.

    Under `torchrun --nproc-per-node N -m datadistill distill ...` the classes (dc, dsa, dm) and the evaluation
    models are shared among the N processes; rank 0 writes the run folder and prints.
    """
    dev = str(resolve_device(device))
    world = start_processes(threads, dev)
    method_kw = parse_options(opt)
    if dsa is not None:
        method_kw["dsa"] = dsa
    if experts is not None:
        method_kw["expert_dir"] = str(experts)
    if pretrained is not None:
        method_kw["pretrained_dir"] = str(pretrained)
    if init is not None:
        method_kw["init"] = init
    splits = api.resolve_data(dataset, data_root)
    method_kw.setdefault("cache_dir", str(cache_dir(splits.info.name, data_root)))  # coreset inits' features
    with RunProgress(err, f"{method} {dataset} ipc {ipc}") if world.main else Silent() as progress:
        syn = api.distill(splits, method, ipc, out=out_dir, resume=resume, callback=progress,
                          budget_s=parse_budget(budget), model=model, iterations=iterations, seed=seed,
                          eval_every=eval_every, eval_models=eval_models, final_eval_models=final_eval,
                          protocol=protocol, zca=zca, device=dev, **method_kw)
    if world.main:
        out.print(f"distilled set: {out_dir / 'synthetic.safetensors'}   grid: {out_dir / 'grid.png'}")
    if syn.evaluations:
        res = EvalResult.from_dict(syn.evaluations[-1])
        if world.main:
            print_eval(f"{method} ipc {ipc}", res)
        if compare_random:
            proto = replace(get_protocol(syn.config["protocol"]), use_learned_lr=False)  # random: no lr
            rand = random_real(splits, ipc, seed)
            if syn.zca:
                rand.images, rand.zca = zca_transform(rand.images, syn.zca), syn.zca
            base = api.evaluate(rand, splits, model=model, runs=final_eval, protocol=proto, seed=seed, device=dev)
            if world.main:
                print_eval(f"random real ipc {ipc}", base)


@app.command("experts")
@friendly
def experts_cmd(
    dataset: str = typer.Option("digits", help="dataset name (see `datadistill list`)"),
    out_dir: Path = typer.Option(..., "--out", help="buffer folder (rerun to continue it)"),
    model: str = typer.Option("convnet", help="expert architecture (the one MTT will distill with)"),
    num: int = typer.Option(10, "--num", "--number", help="number of experts the buffer should hold "
                            "(under torchrun write --number: torchrun takes --num for its --numa-binding)"),
    epochs: int = typer.Option(20, help="epochs per expert (MTT needs max_start_epoch + expert_epochs)"),
    lr: float = typer.Option(0.01, help="expert SGD lr (MTT reference: 0.01, no momentum)"),
    dsa: bool = typer.Option(True, "--dsa/--no-dsa", help="DSA augmentation while training experts"),
    zca: Optional[float] = typer.Option(None, help="ZCA-whiten the data with this eps (MTT paper: 0.1)"),
    precision: str = typer.Option("bf16", help="bf16 (where the CPU/GPU has it natively; float32 elsewhere) or fp32"),
    data_root: Optional[Path] = typer.Option(None, help="folder holding the dataset files"),
    seed: int = typer.Option(0),
    threads: Optional[int] = typer.Option(None, help="torch threads (default: all cores)"),
    device: str = typer.Option("auto", help="auto (cuda, else mps, else cpu) | cpu | cuda | mps"),
) -> None:
    """Train expert networks and store every epoch's parameters (the trajectories MTT matches).

    Under `torchrun --nproc-per-node N -m datadistill experts ...` the N processes train experts side by side.
    """
    dev = str(resolve_device(device))
    world = start_processes(threads, dev)
    splits = api.resolve_data(dataset, data_root)
    cfg = ExpertConfig(model=model, epochs=epochs, lr=lr, dsa=dsa, zca=zca, precision=precision, seed=seed,
                       device=dev)
    with ExpertProgress(err, f"experts {dataset} {model}") if world.main else Silent() as progress:
        buf = train_experts(splits, cfg, out_dir, num, callback=progress)
    if not world.main:
        return
    accs = [e["test_acc"] for e in buf.manifest["experts"]]
    out.print(f"expert buffer: {out_dir}  ({len(buf)} experts x {buf.epochs} epochs, "
              f"{buf.bytes_per_expert() / 2**20:.1f} MB per expert, test acc {min(accs):.2f}-{max(accs):.2f} %)")


@app.command()
@friendly
def pretrain(
    dataset: str = typer.Option("digits", help="dataset the networks are trained on"),
    out_dir: Path = typer.Option(..., "--out", help="folder of pre-trained networks (rerun to add more)"),
    model: str = typer.Option("lenet", help="architecture (DD on MNIST: lenet)"),
    num: int = typer.Option(10, "--num", "--number", help="number of networks (--number under torchrun)"),
    epochs: int = typer.Option(5, help="training epochs per network"),
    lr: float = typer.Option(0.01),
    momentum: float = typer.Option(0.9),
    data_root: Optional[Path] = typer.Option(None, help="folder holding the dataset files"),
    seed: int = typer.Option(0),
    threads: Optional[int] = typer.Option(None, help="torch threads (default: all cores)"),
) -> None:
    """Train networks on a dataset and keep them (DD's pre-trained initialisations; same format as experts)."""
    world = start_processes(threads, "cpu")
    splits = api.resolve_data(dataset, data_root)
    cfg = ExpertConfig(model=model, epochs=epochs, lr=lr, momentum=momentum, dsa=False, seed=seed)
    with ExpertProgress(err, f"pretrain {dataset} {model}") if world.main else Silent() as progress:
        buf = train_experts(splits, cfg, out_dir, num, callback=progress)
    if not world.main:
        return
    accs = [e["test_acc"] for e in buf.manifest["experts"]]
    out.print(f"pre-trained networks: {out_dir}  ({len(buf)} x {model}, test acc {min(accs):.2f}-{max(accs):.2f} %)")


@app.command()
@friendly
def evaluate(
    run: Path = typer.Argument(..., help="run folder or .safetensors artifact"),
    model: str = typer.Option("convnet", help="architecture to train on the set (options after colons, e.g. "
                               "convnet:width=64:act=sigmoid)"),
    runs: int = typer.Option(5, help="number of fresh networks"),
    protocol: Optional[str] = typer.Option(None, help="protocol (default: the one the set was made for)"),
    data_root: Optional[Path] = typer.Option(None, help="folder holding the dataset files"),
    seed: int = typer.Option(0),
    threads: Optional[int] = typer.Option(None),
    save: bool = typer.Option(True, help="append the result to the artifact's evaluations"),
    device: str = typer.Option("auto", help="auto (cuda, else mps, else cpu) | cpu | cuda | mps"),
    batched: bool = typer.Option(False, help="train the networks together (vmap; 2.2x slower than one by one on 2 CPU cores)"),
    resume: bool = typer.Option(True, help="keep each model's accuracy beside the artifact (<name>.models.jsonl) and "
                                "train only the models an earlier, interrupted evaluation did not finish"),
    compile: bool = typer.Option(False, "--compile", help="torch.compile the training passes (needs a C++ compiler; "
                                 "pays for some networks and CPUs, not all: bench/bench_compile.py)"),
) -> None:
    """Train fresh networks on a distilled set and test them on the real test split.

    Under `torchrun --nproc-per-node N -m datadistill evaluate ...` the models are shared among the processes.
    """
    dev = str(resolve_device(device))
    world = start_processes(threads, dev)
    syn = api.load(run)
    cache_file = models_cache(resolve_artifact(run)) if resume else None
    res = api.evaluate(syn, data_root=data_root, model=model, runs=runs, protocol=protocol, seed=seed,
                       device=dev, batched=batched, cache_file=cache_file, compile=compile,
                       on_model=model_progress(runs))
    if not world.main:
        return
    say_cached(res, runs, cache_file)
    print_eval(str(run), res)
    if save:
        syn.evaluations.append(res.to_dict())
        syn.save(resolve_artifact(run))


def _baseline_command(name: str) -> Callable[..., None]:
    """A `baseline NAME` command for one coreset selection (they share every option)."""

    @friendly
    def command(
        dataset: str = typer.Option("digits"),
        ipc: int = typer.Option(1),
        out_file: Optional[Path] = typer.Option(None, "--out", help="run folder, or a .safetensors file (default "
                                                "runs/<name>.safetensors)"),
        data_root: Optional[Path] = typer.Option(None),
        seed: int = typer.Option(0),
        runs: int = typer.Option(0, help="also evaluate with this many models (each model's accuracy is kept in "
                                 "<name>.models.jsonl beside the set: a rerun trains only the missing ones)"),
        protocol: Optional[str] = typer.Option(None, help="evaluation protocol (default: the DC paper's for the "
                                               "dataset: dc2021-aug on MNIST, dc2021 elsewhere)"),
        opt: list[str] = typer.Option([], "--opt", help="selection option key=value (e.g. candidates=20)"),
        feature_recipe: str = typer.Option("whole", help="how the feature network is trained: "
                                           + ", ".join(FEATURE_RECIPES.names())),
        feature_epochs: Optional[int] = typer.Option(None, help="its epochs (default: the recipe's)"),
        feature_augment: Optional[str] = typer.Option(None, help="its augmentation: "
                                                      + ", ".join(AUGMENTATIONS.names()) + " (default: the recipe's)"),
        threads: Optional[int] = typer.Option(None),
    ) -> None:
        setup_runtime(threads)
        recipe = feature_recipe_of(feature_recipe, feature_epochs, feature_augment)  # bad names fail before loading
        splits = api.resolve_data(dataset, data_root)
        source = feature_source(splits, recipe, seed, cache_dir(splits.info.name, data_root))
        syn = coreset_set(name, source, ipc, seed, **parse_options(opt))
        syn.config["protocol"] = protocol = protocol or dc_protocol(splits.info.name)
        syn.config["environment"] = environment()  # the command and machine, for the report's provenance
        target = artifact_target(out_file or Path("runs") / f"{name}.safetensors")
        syn.save(target)
        out.print(f"{name} set: {target}")
        if runs:
            res = api.evaluate(syn, splits, runs=runs, protocol=protocol, seed=seed,
                               cache_file=models_cache(target), on_model=model_progress(runs))
            say_cached(res, runs, models_cache(target))
            print_eval(f"{name} ipc {ipc}", res)
            syn.evaluations.append(res.to_dict())
            syn.save(target)

    return command


BASELINE_HELP = {
    "random": "Random real images per class.",
    "herding": "Herding: images whose running mean tracks the class mean (features of a whole-data ConvNet).",
    "nearest_mean": "The images nearest the class mean in feature space (the DC paper's wording of its herding).",
    "kcenter": "k-center greedy: images covering the class in feature space (whole-data ConvNet features; "
               "--opt space=logits or space=pixels measures in its logits or the raw pixels, also for herding).",
    "forgetting": "The most forgotten images of each class while a ConvNet trains on the whole data "
                  "(--opt never_learned=first puts never-learned images first, as Toneva et al.).",
    "optimal_random": "Best of N random sets, judged on a validation split of the training data (--opt candidates=N; "
                      "each screened set's accuracy is cached, so a stopped selection resumes).",
}
for _name, _help in BASELINE_HELP.items():
    baseline_app.command(_name, help=_help + " Saved as an artifact; --runs N evaluates it.")(_baseline_command(_name))


@baseline_app.command("whole")
@friendly
def baseline_whole(
    dataset: str = typer.Option("digits"),
    data_root: Optional[Path] = typer.Option(None),
    model: str = typer.Option("convnet"),
    runs: int = typer.Option(1),
    epochs: int = typer.Option(WHOLE.epochs, help="epochs of the whole-dataset recipe"),
    seed: int = typer.Option(0),
    cache: bool = typer.Option(True, help="reuse (and add to) the accuracies cached in <data root>/<dataset>/cache"),
    threads: Optional[int] = typer.Option(None),
    compile: bool = typer.Option(False, "--compile", help="torch.compile the training passes (needs a C++ compiler; "
                                 "pays for some networks and CPUs, not all: bench/bench_compile.py)"),
) -> None:
    """Whole-dataset reference: networks trained on the full training split (recipe in baselines.WHOLE)."""
    setup_runtime(threads)
    splits = api.resolve_data(dataset, data_root)
    spec = api.EvalSpec(model, replace(WHOLE, epochs=epochs), runs, seed, compile=compile)
    res = whole_dataset(splits, spec, cache_dir(splits.info.name, data_root) if cache else None)
    if res.config.get("cached_models"):
        out.print(f"{res.config['cached_models']} of {runs} models from the cache")
    for i, epochs_done in sorted(res.config.get("resumed_epochs", {}).items()):
        out.print(f"model {i} continued from its checkpoint after epoch {epochs_done}")
    print_eval(f"whole {dataset}", res)


@app.command()
@friendly
def crossarch(
    runs_: list[Path] = typer.Argument(..., metavar="RUN...", help="run folders or artifacts (rows)"),
    models: str = typer.Option("mlp,convnet,lenet,alexnet,vgg11,resnet18",
                               help="architectures (columns), comma-separated; each may carry options "
                               "(convnet:depth=2)"),
    runs: int = typer.Option(5, help="fresh networks per cell"),
    protocol: Optional[str] = typer.Option(None, help="protocol (default: the one each set was made for)"),
    data_root: Optional[Path] = typer.Option(None),
    seed: int = typer.Option(0),
    threads: Optional[int] = typer.Option(None),
    compile: bool = typer.Option(False, "--compile", help="torch.compile the training passes (needs a C++ compiler; "
                                 "pays for some networks and CPUs, not all: bench/bench_compile.py)"),
) -> None:
    """Train every architecture on every set (the DC paper's Figure 3); cached results are reused."""
    setup_runtime(threads)
    sets = [(str(p), api.load(p)) for p in runs_]
    names = [m.strip() for m in models.split(",") if m.strip()]
    proto_of = lambda syn: protocol or syn.config.get("protocol") or dc_protocol(syn.info.name)  # noqa: E731

    def one(syn: Any, model: str) -> EvalResult:
        res = api.evaluate(syn, data_root=data_root, model=model, runs=runs, protocol=proto_of(syn), seed=seed,
                           compile=compile)
        err.print(f"  {syn.method} ipc {syn.ipc} on {model}: {res.mean:.2f} +- {res.std:.2f} %")
        return res

    def keep(label: str, syn: Any) -> None:  # every new cell is saved with its artifact (the cache) at once
        syn.save(resolve_artifact(Path(label)))

    result = cross_architecture(sets, names, runs, one, proto_of, seed, on_new=keep)
    table = Table("set \\ trained on", *names)
    for row in result.rows:
        table.add_row(row, *(f"{result.cells[(row, m)].mean:.2f} +- {result.cells[(row, m)].std:.2f}" for m in names))
    out.print(table)


@app.command()
@friendly
def report(
    runs_: list[Path] = typer.Argument(..., metavar="RUN...", help="run folders or artifacts"),
    out_dir: Path = typer.Option(Path("report"), "--out", help="folder for report.md, img/ and report.html"),
    title: str = typer.Option("datadistill report"),
) -> None:
    """Markdown + self-contained HTML: grids, accuracy curves, method x IPC, cross-arch and ablation tables."""
    md, page = build_report(list(runs_), out_dir, title)
    out.print(f"report: {md}  {page}")


@app.command()
@friendly
def show(run: Path = typer.Argument(...), out_file: Optional[Path] = typer.Option(None, "--out"),
         folder: Optional[Path] = typer.Option(None, help="also export one PNG per image here")) -> None:
    """Write the image grid of a distilled set (and optionally an image folder)."""
    syn = api.load(run)
    target = out_file or (run / "grid.png" if run.is_dir() else run.with_suffix(".png"))
    syn.export_png(target)
    out.print(f"grid: {target}  ({len(syn)} images, {syn.method}, ipc {syn.ipc}, {syn.info.name})")
    if folder:
        syn.export_folder(folder)
        out.print(f"image folder: {folder}")


@app.command("list")
def list_all() -> None:
    """Registered methods, datasets, models and evaluation protocols; what a bf16 setting computes in here."""
    table = Table("kind", "names")
    for kind, names in (("methods", list_methods()), ("datasets", list_datasets()),
                        ("models", list_models()), ("protocols", PROTOCOLS.names())):
        table.add_row(kind, ", ".join(names))
    table.add_row("model options", f"after colons, e.g. {SPEC_EXAMPLE} (ConvNet: width, depth, act, norm, pooling)")
    cpu = effective_precision(resolve_device("cpu"), "bf16")
    table.add_row("bf16 on this CPU", "bf16 (native)" if cpu == "bf16" else "computed in float32 (no native bf16)")
    out.print(table)


def main() -> None:
    """Console-script entry point. SIGTERM (a scheduler or `kill` ending the job) is handled like Ctrl-C, so a
    run keeps its finished iterations in the checkpoint before it exits."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    app()


from . import apps  # noqa: E402,F401  (registers the application commands on `app`)

if __name__ == "__main__":
    sys.exit(main())
