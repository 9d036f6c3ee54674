"""DD on MNIST (issue 3): the paper's setting (LeNet, 10 steps x 3 epochs, 100 images), its Table-1 baselines,
and the peak memory of the plain and constant-memory unroll.

  python bench/bench_dd.py run --init fixed --budget 1h            # resumable; budget = distillation time
  python bench/bench_dd.py run --init random --budget 1h --models 20
  python bench/bench_dd.py baselines --models 20                   # random / optimised real, k-means, average, k-NN
  python bench/bench_dd.py memory [--mem-model convnet]           # peak memory of a step, plain vs constant
  python bench/bench_dd.py adapt --source mnist --target usps      # domain adaptation (fixed pre-trained)
  python bench/bench_dd.py poison --budget 20m                     # data poisoning, class 3 -> 8, one GD step

Baselines follow the paper: the same 10 x 3 GD steps on the baseline images, the best of the learning-rate grid
{0.001, 0.003, 0.01, 0.03, 0.1, 0.3} x epochs {1, 3, 5}, on fresh random (Xavier) LeNets.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch  # noqa: E402
from common import (  # noqa: E402
    ROOT,
    append_jsonl,
    append_markdown,
    child_distill_peak,
    command_line,
    machine,
    peak_rss_mb,
)

from datadistill import api  # noqa: E402
from datadistill.baselines import class_average, kmeans_centroids, knn_accuracy, random_real  # noqa: E402
from datadistill.cli.main import parse_budget  # noqa: E402
from datadistill.coresets import coreset_set  # noqa: E402
from datadistill.evaluate import EvalResult, EvalSpec, evaluate_any, get_protocol  # noqa: E402
from datadistill.evaluate.train import test_accuracy, train_network  # noqa: E402
from datadistill.experts import ExpertConfig, train_experts  # noqa: E402
from datadistill.methods import method_label  # noqa: E402
from datadistill.models import create_model  # noqa: E402
from datadistill.models.flat import FlatLayout  # noqa: E402
from datadistill.published import published  # noqa: E402
from datadistill.runtime import setup_runtime  # noqa: E402

LR_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
EPOCH_GRID = (1, 3, 5)
# paper Table 2 (fixed pre-trained DD and its baselines); the paper has no UCI-digits rows
TABLE2 = {("mnist", "usps"): {"dd": "97.9", "random": "94.9 +- 0.8", "kmeans": "92.2 +- 1.6", "none": "90.4 +- 3.0",
                              "full": "97.3 +- 0.3"},
          ("usps", "mnist"): {"dd": "93.2", "random": "87.1 +- 2.9", "kmeans": "85.6 +- 3.1", "none": "67.5 +- 3.9",
                              "full": "98.6 +- 0.5"}}
DOMAINS = ["mnist", "usps", "digits", "fashion-mnist"]  # adapt: USPS and UCI digits are resized to 28 x 28


def run(args: argparse.Namespace, data) -> None:
    """A DD run (resumable, budgeted) and its replay evaluation."""
    val = args.select == "val"  # keep the snapshot best on a validation split (own folder, own curve)
    tag = "_val" if val else ""
    extra = {}  # method settings that change the run, each tagged in the folder name
    schedule = {}  # a shortened schedule: fewer passes over the real data, the lr halved proportionally sooner
    if args.passes is not None:
        schedule = {"passes": args.passes, "decay_passes": args.decay_passes or max(1, args.passes // 10)}
        tag += f"_p{schedule['passes']}d{schedule['decay_passes']}"
    if args.inits is not None:  # initialisations sampled per iteration (random init), its own folder
        extra["inits_per_iteration"] = args.inits
        tag += f"_i{args.inits}"
    out = ROOT / "bench" / "out" / f"dd_mnist_{args.init}{tag}_s{args.seed}"
    budget = parse_budget(args.budget)
    syn = api.distill(data, "dd", 10, out=out, resume=True, seed=args.seed, budget_s=budget, model="lenet",
                      init=args.init, eval_every=args.eval_every, eval_models=args.curve_models,
                      final_eval_models=args.models, memory=args.memory, iterations=args.iterations,
                      select=args.select, **schedule, **extra)
    res = EvalResult.from_dict(syn.evaluations[-1])
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    steps = [r for r in records if "s_per_iter" in r]
    want = "val" if val else None  # the periodic evaluations, not the final test of the kept set
    curve = [[r["iteration"] + 1, round(r["eval"]["mean"], 2)] for r in records if "eval" in r
             and r.get("split") == want]
    split = "validation split" if val else "test set"
    chosen = (f"  \nKept: the snapshot of iteration {syn.config['selected_iteration']}, best on the validation "
              f"split ({syn.config['selected_val_acc']:.2f} %); the final accuracy above is its test accuracy."
              if val else "")
    rec = {"bench": "dd_run", "method": "dd", "dataset": "mnist", "ipc": 10, "protocol": "dd2018",
           "acc_mean": round(res.mean, 2), "acc_std": round(res.std, 2), "n_models": len(res.accs),
           "iterations": syn.config["completed_iterations"], "wall_s": syn.config.get("distill_s"),
           "s_per_iter": round(statistics.median(r["s_per_iter"] for r in steps), 3), "peak_rss_mb": peak_rss_mb(),
           "budgeted": bool(syn.config.get("budget_hit")), "command": command_line(), "init": args.init, "curve": curve,
           "select": args.select, "schedule": schedule or None, "inits_per_iteration": args.inits,
           "selected_iteration": syn.config.get("selected_iteration"),
           "lrs": [round(x, 4) for x in syn.lrs.tolist()]}
    append_jsonl(rec)
    m = machine()
    kind = f"budgeted ({args.budget} of distillation time)" if syn.config.get("budget_hit") else "full run"
    if schedule:
        kind += (f", **shortened schedule** ({schedule['passes']} of the paper's 400 passes, lr halved every "
                 f"{schedule['decay_passes']} instead of 40)")
    inits = f", {args.inits} initialisations per iteration" if args.inits is not None else ""
    append_markdown(
        f"DD MNIST, LeNet, 10 steps x 3 epochs, {args.init} init{', select=val' if val else ''}{inits}: {kind}",
        f"Command: `{rec['command']}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}.\n\n"
        f"| | accuracy (%) | models | iterations | s / iteration | distillation time | peak RSS |\n"
        f"| --- | --- | --- | --- | --- | --- | --- |\n"
        f"| datadistill | {res.mean:.2f} +- {res.std:.2f} | {len(res.accs)} | {rec['iterations']} | "
        f"{rec['s_per_iter']:.2f} | {(rec['wall_s'] or 0) / 60:.1f} min | {rec['peak_rss_mb']:.0f} MB |\n"
        f"| published (paper) | {published(method_label('dd', {}, syn.schedule), 'mnist', 10) or '-'} | | 23,600 (400 passes) | | | |\n\n"
        f"Accuracy vs iteration ({split}): {', '.join(f'{i}: {a}' for i, a in curve) or '-'}.{chosen}  \n"
        f"Learned lrs (epoch-major): {', '.join(f'{x:.3f}' for x in rec['lrs'])}.")


def _grid_score(res: EvalResult, key: str) -> float:
    """'acc': mean accuracy; 'k_as_t': the poisoning rate; 'acc_if_attack': the paper's Fig. 6 rule, the
    accuracy w.r.t. the modified labels among grid points that turn at least 10 % of class K into T."""
    rate = statistics.mean(res.config["k_as_t"]) if "k_as_t" in res.config else 0.0
    return {"acc": res.mean, "k_as_t": rate, "acc_if_attack": res.mean if rate >= 10 else -1.0}[key]


def _grid_best(images, labels, data, models: int, seed: int, schedule_extra: dict | None = None,
               extra: dict | None = None, key: str = "acc", steps: int = 10,
               epoch_grid: tuple[int, ...] = EPOCH_GRID) -> tuple[float, float, str, dict]:
    """Best over the lr x epochs grid with `steps` GD steps per epoch (fresh Xavier LeNets unless
    schedule_extra says otherwise), ranked by _grid_score(key). Returns (mean accuracy, std, grid point,
    config of that evaluation)."""
    best: tuple[float, float, str, dict] = (-1.0, 0.0, "", {})
    best_score = -2.0
    per_step = len(images) // (steps * data.info.num_classes)
    order = torch.cat([torch.nonzero(labels == c).flatten() for c in range(data.info.num_classes)])
    x, y = images[order], labels[order]  # class-major -> step-major: step s takes image s of every class
    x = x.view(data.info.num_classes, steps * per_step, *x.shape[1:]).transpose(0, 1).reshape(images.shape)
    y = y.view(data.info.num_classes, -1).T.reshape(-1)
    for epochs in epoch_grid:
        for lr in LR_GRID:
            schedule = {"kind": "dd", "steps": steps, "epochs": epochs, "per_step": per_step, "init": "random",
                        "weight_init": "xavier", **(schedule_extra or {})}
            spec = EvalSpec("lenet", get_protocol("dd2018"), models, seed)
            res = evaluate_any(x, y, data.info, data.test, spec, lrs=torch.full((steps * epochs,), lr),
                               schedule=schedule, extra=extra or {})
            score = _grid_score(res, key)
            if score > best_score:
                best_score, best = score, (res.mean, res.std, f"lr {lr}, {epochs} epochs", res.config)
    return best


def baselines(args: argparse.Namespace, data) -> None:
    """Table 1's baselines at 100 images (10 per class) and k-NN."""
    rows = []
    sets = {"random real": random_real(data, 10, args.seed), "k-means": kmeans_centroids(data, 10, args.seed),
            "average": class_average(data, 10, args.seed)}
    # best of N random sets, each judged by a LeNet trained on it and tested on a held-out training subset
    sets[f"optimised real (best of {args.candidates})"] = coreset_set(
        "optimal_random", data, 10, args.seed, candidates=args.candidates, model="lenet", protocol="dc2021")
    for name, syn in sets.items():
        t0 = time.perf_counter()
        mean, std, how, _ = _grid_best(syn.images, syn.labels, data, args.models, args.seed)
        rows.append(f"| {name} | {mean:.2f} +- {std:.2f} | {how} | {time.perf_counter() - t0:.0f} s |")
        append_jsonl({"bench": "dd_baseline", "method": name, "dataset": "mnist", "ipc": 10, "protocol": "dd2018-grid",
                      "acc_mean": round(mean, 2), "acc_std": round(std, 2), "n_models": args.models,
                      "iterations": 0, "wall_s": round(time.perf_counter() - t0, 1), "peak_rss_mb": peak_rss_mb(),
                      "budgeted": False, "command": command_line(), "best": how})
    for name in ("random real", "k-means"):
        for k in (1, 3):
            for p in (1, 2):
                acc = knn_accuracy(sets[name], data.test.images, data.test.labels, k=k, p=float(p))
                rows.append(f"| {k}-NN (l{p}) on {name} | {acc:.2f} | | |")
    m = machine()
    append_markdown(
        "DD Table-1 baselines, MNIST, 100 images (LeNet, 10 GD steps per epoch)",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}. "
        f"{args.models} fresh Xavier LeNets per grid point; best of lr {LR_GRID} x epochs {EPOCH_GRID}.\n\n"
        "| baseline | accuracy (%) | best grid point | wall |\n| --- | --- | --- | --- |\n" + "\n".join(rows))


def memory(args: argparse.Namespace, data) -> None:
    """Memory of 3 DD iterations (10 steps x E epochs), plain vs constant memory, for each E in --mem-epochs.

    Two figures per point: the run's own peak above the memory held after loading MNIST (run_mb: everything,
    first-iteration set-up included), and the peak of a distillation step above the state kept between steps
    (step_mb: the unrolled graph, the real batch's loss, the step's temporaries; what the memory mode decides).
    """
    rows, res = [], {}
    for epochs in args.mem_epochs:
        for mode in ("plain", "constant"):
            r = child_distill_peak("mnist", args.data_root, f"'dd', 10, iterations=3, model='{args.mem_model}', "
                                   f"init='{args.init}', memory='{mode}', epochs={epochs}")
            res[(epochs, mode)] = r
            append_jsonl({"bench": "dd_memory", "method": "dd", "dataset": "mnist", "ipc": 10, "iterations": 3,
                          "memory": mode, "unrolled_steps": 10 * epochs, "model": args.mem_model,
                          "peak_rss_mb": round(r["process_peak_mb"], 1), "run_mb": round(r["run_mb"], 1),
                          "step_mb": round(r["step_mb"], 1), "init": args.init, "wall_s": round(r["seconds"], 1),
                          "budgeted": False, "command": command_line()})
        p, c = res[(epochs, "plain")], res[(epochs, "constant")]
        rows.append(f"| {10 * epochs} | {p['step_mb']:.0f} MB | {c['step_mb']:.0f} MB | "
                    f"{c['step_mb'] / p['step_mb']:.2f} | {p['run_mb']:.0f} MB | {c['run_mb']:.0f} MB | "
                    f"{c['run_mb'] / p['run_mb']:.2f} | {p['seconds']:.1f} s | {c['seconds']:.1f} s |")
    m = machine()
    append_markdown(
        f"DD memory: plain vs constant-memory unroll ({args.mem_model}, MNIST, {args.init} init, "
        "10 steps per epoch)",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}. Three "
        "iterations in a fresh process per point, glibc returning freed blocks >= 64 KiB to the OS. 'step peak': "
        "the peak resident memory of iterations 2-3 above what the process holds between steps (the unrolled "
        "graph, the 1024-image real batch's loss, temporaries); 'run peak': above what it held after loading "
        "MNIST, first-iteration set-up (thread pools, kernels) included.\n\n"
        "| unrolled steps | plain step peak | constant step peak | constant / plain | plain run peak | "
        "constant run peak | constant / plain | plain time | constant time |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows))


def _size_kw(name: str) -> dict:
    return {"size": 28} if name in ("usps", "digits") else {}  # at MNIST's 28x28, so one LeNet serves all


def _pretrained(data, name: str, num: int, epochs: int) -> tuple[Path, list[torch.Tensor]]:
    """A buffer of `num` LeNets trained on `data` (resumable); their final parameters."""
    out = ROOT / "bench" / "out" / f"pretrained_{name}_lenet_e{epochs}"
    buf = train_experts(data, ExpertConfig(model="lenet", epochs=epochs, lr=0.01, momentum=0.9, dsa=False,
                                           precision="bf16"), out, num)
    return out, [buf.snapshots(i, [buf.epochs])[0] for i in range(num)]


def adapt(args: argparse.Namespace, _data) -> None:
    """Domain adaptation (paper Table 2): 100 target images + lrs for a LeNet pre-trained on the source."""
    source = api.resolve_data(args.source, args.data_root, **_size_kw(args.source))
    target = api.resolve_data(args.target, args.data_root, **_size_kw(args.target))
    t0 = time.perf_counter()
    pre_dir, (theta,) = _pretrained(source, args.source, 1, args.pretrain_epochs)
    net = create_model("lenet", 1, 10, target.info.im_size)
    before = test_accuracy(FlatLayout.of(net).load_into(net, theta), target.test)
    out = ROOT / "bench" / "out" / f"dd_adapt_{args.source}_{args.target}_e{args.pretrain_epochs}_s{args.seed}"
    budget = parse_budget(args.budget)
    syn = api.distill(target, "dd", 10, out=out, resume=True, seed=args.seed, budget_s=budget, model="lenet",
                      init="fixed_pretrained", pretrained_dir=str(pre_dir), heldout=0, iterations=args.iterations,
                      final_eval_models=1)
    ours = EvalResult.from_dict(syn.evaluations[-1]).mean
    fixed = {"init": "fixed_pretrained"}
    rand_mean, _, how, _ = _grid_best(*_images(random_real(target, 10, args.seed)), target, 1, args.seed,
                                      schedule_extra=fixed, extra={"init_params": theta})
    km_mean, _, km_how, _ = _grid_best(*_images(kmeans_centroids(target, 10, args.seed)), target, 1, args.seed,
                                       schedule_extra=fixed, extra={"init_params": theta})
    tuned = replace(get_protocol("dc2021", epochs=args.finetune_epochs), augment="none")
    ft = create_model("lenet", 1, 10, target.info.im_size)
    FlatLayout.of(ft).load_into(ft, theta)
    train_network(ft, target.train.images, target.train.labels, tuned, torch.Generator().manual_seed(args.seed))
    full = test_accuracy(ft, target.test)
    wall = time.perf_counter() - t0
    pub = TABLE2.get((args.source, args.target), {})
    append_jsonl({"bench": "dd_adapt", "method": "dd", "dataset": f"{args.source}->{args.target}", "ipc": 10,
                  "protocol": "dd2018 (fixed pre-trained)", "acc_mean": round(ours, 2), "acc_std": 0.0, "n_models": 1,
                  "iterations": syn.config["completed_iterations"], "wall_s": round(wall, 1),
                  "distill_s": syn.config["distill_s"], "peak_rss_mb": peak_rss_mb(), "budgeted": bool(syn.config.get("budget_hit")),
                  "command": command_line(), "no_adaptation": before, "random_real": rand_mean,
                  "finetune_full_target": full, "kmeans": km_mean})
    m = machine()
    kind = f"budgeted ({args.budget} of distillation time)" if syn.config.get("budget_hit") else "full run"
    append_markdown(
        f"DD domain adaptation {args.source} -> {args.target} (LeNet, 100 images, 10 steps x 3 epochs): {kind}",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}; wall "
        f"{wall / 60:.1f} min (pre-training included). One LeNet trained {args.pretrain_epochs} epochs on "
        f"{args.source}; {args.target} {len(target.train)} train / {len(target.test)} test images"
        f"{' (USPS: its test file split per class, the train file is not in ../shared/data)' if 'usps' == args.target else ''}"
        f".\n\n| on the {args.target} test split | accuracy (%) | paper Table 2 |\n| --- | --- | --- |\n"
        f"| pre-trained network, no adaptation | {before:.2f} | {pub.get('none', '-')} |\n"
        f"| random real {args.target} images, same 10 x 3 steps (best of the lr x epochs grid: {how}) | "
        f"{rand_mean:.2f} | {pub.get('random', '-')} |\n"
        f"| k-means centroids of the {args.target} train split, same steps (best grid point: {km_how}) | "
        f"{km_mean:.2f} | {pub.get('kmeans', '-')} |\n"
        f"| DD, fixed pre-trained ({syn.config['completed_iterations']} iterations) | **{ours:.2f}** | "
        f"{pub.get('dd', '-')} |\n"
        f"| fine-tuned on the whole {args.target} train split ({args.finetune_epochs} epochs) | {full:.2f} | "
        f"{pub.get('full', '-')} |")


def poison(args: argparse.Namespace, data) -> None:
    """Data poisoning (paper Sec. 3.6, Fig. 6): 100 images that, in ONE GD step, make networks pre-trained on
    MNIST call class K as T while keeping the other classes."""
    k, t = args.poison_source, args.poison_target
    t0 = time.perf_counter()
    pre_dir, _ = _pretrained(data, "mnist", args.pool, args.pretrain_epochs)
    out = ROOT / "bench" / "out" / f"dd_poison_{k}to{t}_1step_p{args.pool}e{args.pretrain_epochs}_s{args.seed}"
    budget = parse_budget(args.budget)
    syn = api.distill(data, "dd", 10, out=out, resume=True, seed=args.seed, budget_s=budget, model="lenet",
                      init="random_pretrained", pretrained_dir=str(pre_dir), heldout=args.heldout,
                      objective="poison", poison_source=k, poison_target=t, steps=1, epochs=1,
                      iterations=args.iterations, final_eval_models=args.heldout)
    res = EvalResult.from_dict(syn.evaluations[-1])
    real = random_real(data, 10, args.seed)
    x, y = _images(real)
    y = torch.where(y == k, torch.full_like(y, t), y)  # the baseline: real images with K relabelled T
    held = {"init": "random_pretrained", "pretrained_dir": str(pre_dir), "heldout": args.heldout, "objective": "poison",
            "poison_source": k, "poison_target": t}
    one = {"steps": 1, "epoch_grid": (1,), "schedule_extra": held}
    rows = {}
    for name, key in (("most of class K as T", "k_as_t"), ("paper's rule: best accuracy with >= 10 % K as T",
                                                            "acc_if_attack")):
        mean, _, how, cfg = _grid_best(x, y, data, args.heldout, args.seed, key=key, **one)
        rows[name] = (mean, statistics.mean(cfg["k_as_t"]), how)
    wall = time.perf_counter() - t0
    ours_kt = statistics.mean(res.config["k_as_t"])
    append_jsonl({"bench": "dd_poison", "method": "dd", "dataset": "mnist", "ipc": 10,
                  "protocol": "dd2018 (held-out pre-trained, 1 GD step)", "acc_mean": round(res.mean, 2),
                  "acc_std": round(res.std, 2), "n_models": len(res.accs),
                  "iterations": syn.config["completed_iterations"], "wall_s": round(wall, 1),
                  "distill_s": syn.config["distill_s"], "peak_rss_mb": peak_rss_mb(),
                  "budgeted": bool(syn.config.get("budget_hit")), "command": command_line(), "k_as_t": ours_kt,
                  "baselines": {n: {"acc": a, "k_as_t": r, "grid": h} for n, (a, r, h) in rows.items()}})
    m = machine()
    kind = f"budgeted ({args.budget} of distillation time)" if syn.config.get("budget_hit") else "full run"
    base = "".join(f"| real images, class {k} relabelled {t}, one GD step (grid point chosen for {n}: {h}) | "
                   f"{r:.1f} | {a:.2f} |\n" for n, (a, r, h) in rows.items())
    append_markdown(
        f"DD data poisoning on MNIST, class {k} -> {t} (LeNet, 100 images, one GD step): {kind}",
        f"Command: `{command_line()}`  \nMachine: {m['cores']} cores, torch {m['torch']}, {m['date']}; wall "
        f"{wall / 60:.1f} min (pre-training included). {args.pool} LeNets pre-trained {args.pretrain_epochs} "
        f"epoch(s) on MNIST; the last {args.heldout} are held out and evaluated (never seen while distilling), "
        f"the other {args.pool - args.heldout} are sampled while distilling. Accuracy counts "
        f"class {k} as {t} correct (the attacker's labels). Baselines: the paper's, one GD step on 100 real images "
        f"with the modified labels, best of the lr grid {LR_GRID}.\n\n"
        f"| after one GD step on | % of class {k} predicted {t} | accuracy w.r.t. modified labels (%) |\n"
        f"| --- | --- | --- |\n{base}"
        f"| DD poisoning set ({syn.config['completed_iterations']} iterations) | **{ours_kt:.1f}** | "
        f"{res.mean:.2f} |")


def _images(syn) -> tuple[torch.Tensor, torch.Tensor]:
    return syn.images, syn.labels


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["run", "baselines", "memory", "adapt", "poison"])
    p.add_argument("--init", choices=["fixed", "random"], default="fixed")
    p.add_argument("--budget", default=None)
    p.add_argument("--passes", type=int, default=None,
                   help="run: passes over the real data (default: the paper's 400); its own folder")
    p.add_argument("--decay-passes", type=int, default=None, help="run: halve the lr every N passes "
                   "(default with --passes: passes / 10, the paper's ratio)")
    p.add_argument("--select", choices=["last", "val"], default="last",
                   help="run: keep the last snapshot, or the periodic one best on a 10 %% validation split "
                        "(its own folder)")
    p.add_argument("--inits", type=int, default=None, help="run, random init: initialisations sampled per "
                   "iteration (default 4; the paper uses 4-16); its own folder")
    p.add_argument("--iterations", type=int, default=None, help="default: the reference's 400 passes")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--curve-models", type=int, default=5)
    p.add_argument("--models", type=int, default=20)
    p.add_argument("--candidates", type=int, default=10, help="baselines: random sets for optimised real")
    p.add_argument("--memory", choices=["plain", "constant"], default="plain")
    p.add_argument("--mem-epochs", type=int, nargs="+", default=[1, 3, 10], help="memory: epochs (x 10 steps)")
    p.add_argument("--mem-model", default="lenet", help="memory: the unrolled network (lenet, convnet)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--source", default="mnist", choices=DOMAINS, help="adapt: source")
    p.add_argument("--target", default="usps", choices=DOMAINS, help="adapt: target")
    p.add_argument("--pretrain-epochs", type=int, default=3,
                   help="adapt/poison: epochs of the pre-trained LeNets (3 on MNIST is ~700 SGD steps; the small "
                        "USPS and digits training splits need ~30-50 for a comparable network)")
    p.add_argument("--finetune-epochs", type=int, default=30, help="adapt: fine-tuning on the whole target")
    p.add_argument("--pool", type=int, default=30, help="poison: pre-trained LeNets (--heldout of them held out); "
                   "one GD step over-fits a handful of networks (6: 98 %% on the 4 seen, 36 %% on the 2 held out)")
    p.add_argument("--heldout", type=int, default=6, help="poison: pre-trained LeNets kept for evaluation")
    p.add_argument("--poison-source", type=int, default=3)
    p.add_argument("--poison-target", type=int, default=8)
    p.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args()
    setup_runtime(None)
    data = api.resolve_data("mnist", args.data_root)
    {"run": run, "baselines": baselines, "memory": memory, "adapt": adapt, "poison": poison}[args.mode](args, data)


if __name__ == "__main__":
    main()
