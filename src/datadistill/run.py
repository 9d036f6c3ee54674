"""A distillation run: resolved config, iteration loop, metrics, checkpoints, resume, final artifact.

Iteration i draws all its randomness from make_generator(seed, 'step', i), so a run resumed from the
checkpoint after iteration i continues exactly as the uninterrupted run would.
"""
from __future__ import annotations

import json
import logging
import platform
import shlex
import sys
import time
import typing
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors.torch import load_file

from .augment.zca import ZCA
from .baselines import WHOLE
from .coresets import SelectionSource
from .data.base import DatasetSplits
from .distributed import World, current_world
from .errors import ConfigError
from .evaluate import EvalResult, EvalSpec, evaluate_any, get_protocol
from .evaluate.cache import set_evaluation_cache
from .fileio import load_meta, save_tensors, write_json
from .methods import DistillContext, Method, create_method
from .options import typed
from .runtime import native_bf16
from .seeding import derive_seed, make_generator
from .synthetic import ARTIFACT_NAME, SyntheticSet

log = logging.getLogger(__name__)
Event = dict[str, Any]


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's result (stored as config.json in the run folder)."""

    method: str = "dc"
    dataset: str = "digits"
    ipc: int = 1
    model: str = "convnet"
    model_kw: dict[str, Any] = field(default_factory=dict)
    method_kw: dict[str, Any] = field(default_factory=dict)
    iterations: int | None = None  # None: the method's published number
    seed: int = 0
    eval_every: int = 0  # 0: no periodic evaluation
    eval_models: int = 2  # models per periodic evaluation
    final_eval_models: int = 0  # models trained on the final set (0: none)
    protocol: str | None = None  # None: the method's paper protocol for this dataset
    checkpoint_every: int = 10
    device: str = "cpu"
    zca: float | None = None  # ZCA-whiten the data (eps; the MTT paper uses 0.1) before distilling
    select: str = "last"  # 'last' iteration, or 'val': the periodic evaluation best on a validation split
    val_fraction: float = 0.1  # share of each training class held out for select='val'
    # init='<coreset selection>' (e.g. herding): epochs of the whole-data feature ConvNet it selects with, and
    # where that network is cached (None: <data root>/<dataset>/cache; a ZCA run caches it in its run folder)
    feature_epochs: int = 20
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(RunConfig)
        for f in fields(self):
            object.__setattr__(self, f.name, typed(f.name, getattr(self, f.name), hints[f.name], "RunConfig"))
        least = {"iterations": 0, "eval_every": 0, "eval_models": 1, "final_eval_models": 0, "checkpoint_every": 1,
                 "feature_epochs": 1}
        for name, low in least.items():
            value = getattr(self, name)
            if value is not None and value < low:
                raise ConfigError(f"{name.replace('_', ' ')} {value} is below {low}; pass {low} or more")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


# RunConfig fields that only decide what is measured along the way, not the distilled images: a resumed run may
# change them.
MONITORING = frozenset({"eval_every", "eval_models", "final_eval_models", "checkpoint_every", "cache_dir"})


class RunFolder:
    """Files of one run: config.json, metrics.jsonl, checkpoint.safetensors, synthetic.safetensors,
    eval_models.jsonl."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.config = path / "config.json"
        self.metrics = path / "metrics.jsonl"
        self.checkpoint = path / "checkpoint.safetensors"
        self.eval_models = path / "eval_models.jsonl"  # every evaluated network's accuracy (evaluate.cache)
        self.artifact = path / ARTIFACT_NAME

    def start(self, cfg: RunConfig, resume: bool) -> int:
        """Create or reopen the folder; returns the first iteration to run."""
        if self.config.exists() and not resume:
            raise ConfigError(f"run folder {self.path} already exists; pass --resume to continue it "
                              "or choose a new --out")
        if resume and self.config.exists():
            stored = json.loads(self.config.read_text())
            now = json.loads(json.dumps(cfg.to_dict()))
            # a setting added since the folder was written reads as its default (the behaviour it had then)
            before = {**json.loads(json.dumps(RunConfig().to_dict())), **stored["run"]}
            diff = sorted(k for k in set(before) | set(now) if k not in MONITORING and before.get(k) != now.get(k))
            if diff:
                raise ConfigError(f"cannot resume {self.path}: settings differ ({', '.join(diff)}); "
                                  "resume with the same settings or choose a new --out")
            done = self._resume_point()
            env = stored.get("environment", {})
            # each resume's command and starting point, so a report's provenance names every command that ran
            resumed = [*env.get("resumed", []), {**_resume_facts(), "from_iteration": done}]
            write_json(self.config, {**stored, "run": now,  # evaluation settings may change on resume
                                     "environment": {**env, "resumed": resumed}})
            return done
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.config, {"run": cfg.to_dict(), "environment": environment()})
        self.metrics.write_text("")
        return 0

    def checkpoint_meta(self) -> dict[str, Any]:
        """The checkpoint's bookkeeping: completed iterations and distillation seconds so far."""
        return json.loads(load_meta(self.checkpoint)) if self.checkpoint.exists() else {}

    def _resume_point(self) -> int:
        if not self.checkpoint.exists():
            self.metrics.write_text("")
            return 0
        done = int(self.checkpoint_meta()["completed"])
        lines = [ln for ln in self.metrics.read_text().splitlines() if ln.strip()]
        kept = [ln for ln in lines if json.loads(ln).get("iteration", -1) < done]
        self.metrics.write_text("".join(ln + "\n" for ln in kept))
        return done

    def logged_eval(self, it: int, split: str, n: int, seed: int, protocol: str) -> dict[str, Any] | None:
        """An evaluation already in metrics.jsonl (iteration, split, models, seed, protocol): a resume never
        repeats one."""
        for line in self.metrics.read_text().splitlines() if self.metrics.exists() else ():
            rec = json.loads(line) if line.strip() else {}
            ev = rec.get("eval")
            if (ev and rec.get("iteration") == it and rec.get("split", "test") == split and ev.get("n") == n
                    and ev.get("seed") == seed and ev.get("protocol") == protocol):
                return ev
        return None

    def log(self, record: Event) -> None:
        """Append one JSON line to metrics.jsonl."""
        with self.metrics.open("a") as f:
            f.write(json.dumps(record) + "\n")

    def save_checkpoint(self, state: dict[str, torch.Tensor], completed: int, distill_s: float = 0.0) -> None:
        """Write a method's state tensors, completed iterations and distillation seconds, atomically."""
        save_tensors(self.checkpoint, state, {"completed": completed, "distill_s": round(distill_s, 3)})

    @property
    def best(self) -> Path:
        return self.path / "best.safetensors"

    def save_best(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        """The best-on-validation images so far (select='val'), atomically."""
        save_tensors(self.best, tensors, meta)

    def load_best(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return load_file(str(self.best)), json.loads(load_meta(self.best))

    def load_checkpoint(self, method: Method) -> None:
        """Restore the method's state from the checkpoint."""
        method.load_state_tensors(load_file(str(self.checkpoint)))


def environment() -> dict[str, Any]:
    """Machine facts stored with every run."""
    from . import __version__

    return {"datadistill": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "threads": torch.get_num_threads(), "machine": platform.machine(),
            "cpu_bf16": native_bf16(torch.device("cpu")),
            "command": " ".join(shlex.quote(a) for a in sys.argv)}


def _resume_facts() -> dict[str, Any]:
    """What a resume records of the session that continues a run: its command and versions."""
    env = environment()
    return {k: env[k] for k in ("command", "datadistill", "torch")}


class Distiller:
    """Runs a method for its iterations with periodic evaluation, checkpoints and an artifact at the end."""

    def __init__(self, cfg: RunConfig, data: DatasetSplits, out: Path | None = None,
                 callback: Callable[[Event], None] | None = None, world: World | None = None) -> None:
        self.cfg = cfg
        self.world = world or current_world()
        self.folder = RunFolder(Path(out)) if out else None
        self.callback = callback or (lambda e: None)
        if cfg.select not in ("last", "val"):
            raise ConfigError(f"select must be 'last' or 'val', got '{cfg.select}'")
        self.val = None
        if cfg.select == "val":  # never select on the test set: hold out part of the training data
            if not cfg.eval_every:
                raise ConfigError("select='val' picks among periodic evaluations: set eval_every > 0")
            rest, self.val = data.train.split_validation(cfg.val_fraction, make_generator(cfg.seed, "val"))
            data = DatasetSplits(data.info, rest, data.test)
        self.zca = ZCA.fit(data.train.images, cfg.zca) if cfg.zca is not None else None
        self.data = data.map_images(self.zca.transform) if self.zca else data
        if self.zca and self.val is not None:
            self.val = self.val.map_images(self.zca.transform)
        ctx = DistillContext(self.data.train, data.info, cfg.ipc, cfg.model, dict(cfg.model_kw),
                             torch.device(cfg.device), zca=self.zca, world=self.world,
                             selection_source=self._selection_source())
        self.method = create_method(cfg.method, ctx, **cfg.method_kw)
        if self.world.size > 1 and not self.method.split_classes:
            raise ConfigError(f"method '{cfg.method}' does not split across processes (its loss couples all "
                              "classes); run it with one process (without torchrun)")
        self.iterations = cfg.iterations if cfg.iterations is not None else self.method.default_iterations
        self.distill_s = 0.0  # seconds spent in method steps (not evaluations), carried over by resume
        self._best_meta: dict[str, Any] | None = None  # select='val': the best snapshot so far (also on disk)
        self._best: dict[str, torch.Tensor] = {}
        self._last: tuple[int, dict[str, torch.Tensor], float] | None = None  # (completed, state, distill_s)
        self._saved = 0  # iterations the checkpoint on disk holds

    def protocol_name(self) -> str:
        """The configured protocol, or the method's paper protocol for this dataset."""
        return self.cfg.protocol or self.method.default_protocol()

    def _selection_source(self) -> SelectionSource:
        """Where init='<coreset selection>' selects from: the distilled (possibly whitened) training split and
        a whole-data ConvNet of cfg.feature_epochs, trained on first use. Its cache file is named by dataset,
        size and recipe, not by whitening, so a ZCA run keeps its network in its own run folder."""
        cfg = self.cfg
        recipe = replace(WHOLE, epochs=cfg.feature_epochs)
        if self.zca is not None:
            folder = self.folder.path if self.folder else None
            return SelectionSource(self.data, cfg.seed, cfg.model, folder, cache=folder is not None, recipe=recipe)
        return SelectionSource(self.data, cfg.seed, cfg.model, Path(cfg.cache_dir) if cfg.cache_dir else None,
                               recipe=recipe)

    def run(self, resume: bool = False, budget_s: float | None = None) -> SyntheticSet:
        """Iterate (from the checkpoint when resuming) and return the final distilled set.

        budget_s bounds the distillation time: the seconds spent in method steps, summed over this call and
        every earlier call on the same run folder (periodic evaluations do not count). A run stopped by the
        budget still evaluates (final_eval_models) and writes a complete artifact; resuming it with a larger
        budget continues where it stopped.
        """
        self.method.init(make_generator(self.cfg.seed, "init"))
        folder = self.folder
        start = self.world.on_main(lambda: folder.start(self.cfg, resume)) if folder else 0
        if start > 0:
            folder.load_checkpoint(self.method)
            self.distill_s = float(folder.checkpoint_meta().get("distill_s", 0.0))
            if folder.best.exists():  # select='val': the best snapshot of the earlier sessions
                self._best, self._best_meta = folder.load_best()
            log.info("resumed after iteration %d (%.0f s of distillation so far)", start, self.distill_s)
        if not self.world.main:
            self.folder = None  # rank 0 alone writes the run folder
        self.callback({"event": "start", "start": start, "iterations": self.iterations})
        it = start
        self._saved = start  # iterations the checkpoint on disk holds
        try:
            while it < self.iterations and self._within(budget_s):
                self._one_iteration(it)
                it += 1
        except KeyboardInterrupt:  # Ctrl-C (or SIGTERM turned into it by the CLI): keep every finished iteration
            self._save_last()
            raise
        return self._finish(it, budget_hit=it < self.iterations)

    def _save_last(self) -> None:
        """Checkpoint the state after the last finished iteration, unless the checkpoint already holds it."""
        last = self._last
        if self.folder and last is not None and last[0] > self._saved:
            self.folder.save_checkpoint(last[1], last[0], last[2])
            self._saved = last[0]
            log.info("interrupted: checkpoint after iteration %d kept", last[0])

    def _within(self, budget_s: float | None) -> bool:
        """Whether the budget allows another iteration (rank 0 decides for every process of a torchrun job)."""
        return budget_s is None or self.world.from_main(self.distill_s < budget_s)

    def _one_iteration(self, it: int) -> None:
        t = time.perf_counter()
        metrics = self.method.step(it, make_generator(self.cfg.seed, "step", it))
        seconds = time.perf_counter() - t
        self.distill_s += seconds
        if self.folder:  # the state after this iteration, for a checkpoint if the run is interrupted before the next
            state = {k: v.detach().clone() for k, v in self.method.state_tensors().items()}  # no live buffers
            self._last = (it + 1, state, self.distill_s)
        record = {"iteration": it, **metrics, "s_per_iter": seconds}
        if self.folder:
            self.folder.log(record)
        self.callback({"event": "step", **record})
        if self.cfg.eval_every and (it + 1) % self.cfg.eval_every == 0 and it + 1 < self.iterations:
            if self.val is not None:
                self._consider(it, self._evaluate(it, self.cfg.eval_models, split="val"))
            else:
                self._evaluate(it, self.cfg.eval_models)
        if self.folder and ((it + 1) % self.cfg.checkpoint_every == 0 or it + 1 == self.iterations):
            self._save_last()

    def _evaluate(self, it: int, runs: int, split: str = "test", images: torch.Tensor | None = None,
                  lrs: torch.Tensor | None = None, reuse: bool = False) -> EvalResult:
        proto = get_protocol(self.protocol_name())
        # validation networks come from their own stream: the final test never reuses the networks (for DD random
        # init, the initialisations) that the snapshot was selected with
        seed = derive_seed(self.cfg.seed, "val-models") if split == "val" else self.cfg.seed
        known = self.folder.logged_eval(it, split, runs, seed, proto.name) if self.folder and reuse else None
        if known is not None:  # a resumed run whose evaluation finished before the interruption
            return EvalResult.from_dict(known)
        spec = EvalSpec(self.cfg.model, proto, runs, seed, tuple(sorted(self.cfg.model_kw.items())),
                        self.cfg.device, world=self.world)
        t = time.perf_counter()
        images = self.method.images() if images is None else images
        lrs = self.method.learned_lrs() if lrs is None else lrs
        labels, test = self.method.labels(), self.val if split == "val" else self.data.test
        known, on_model = {}, None
        if self.folder:  # each model's accuracy is kept as it is known: a stopped evaluation resumes model by model
            cache = set_evaluation_cache(self.folder.eval_models, images, labels, lrs, test, spec, split=split)
            known, on_model = cache.known(runs), cache.keep
        res = evaluate_any(images, labels, self.data.info, test, spec, lrs=lrs, schedule=self.method.schedule(),
                           extra=self.method.extra_tensors(), on_model=on_model, known=known)
        record = {"iteration": it, "eval": res.to_dict(), "eval_s": time.perf_counter() - t}
        if split != "test":
            record["split"] = split
        if self.folder:
            self.folder.log(record)
        self.callback({"event": "eval", **record})
        return res

    def _consider(self, it: int, res: EvalResult) -> None:
        """select='val': keep the images (and lrs) of the best validation accuracy so far (ties: earlier)."""
        best = self._best_meta
        if best is not None and res.mean <= best["val_acc"]:
            return
        meta = {"iteration": it + 1, "val_acc": res.mean}
        tensors = {"images": self.method.images().detach().cpu().clone(),
                   "lrs": self.method.learned_lrs().detach().cpu().clone()}
        if self.folder:
            self.folder.save_best(tensors, meta)
        self._best_meta, self._best = meta, tensors

    def _selected(self, completed: int) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
        """Images, lrs and a note of which iteration the artifact holds."""
        images, lrs = self.method.images().cpu(), self.method.learned_lrs().cpu()
        if self.val is None:
            return images, lrs, {"selected": "last", "selected_iteration": completed}
        last = self._evaluate(completed - 1, self.cfg.eval_models, split="val", reuse=True)
        self._consider(completed - 1, last)
        tensors, meta = self._best, self._best_meta
        return tensors["images"], tensors["lrs"], {"selected": "val", "selected_iteration": meta["iteration"],
                                                   "selected_val_acc": meta["val_acc"]}

    def _finish(self, completed: int, budget_hit: bool) -> SyntheticSet:
        if self.folder and completed > 0:
            self.folder.save_checkpoint(self.method.state_tensors(), completed, self.distill_s)
        images, lrs, chosen = self._selected(completed)
        syn = SyntheticSet(images, self.method.labels().cpu(), self.data.info,
                           self.cfg.method, self.cfg.ipc, lrs=lrs,
                           config={**self.cfg.to_dict(), "protocol": self.protocol_name(),
                                   "method_config": asdict(self.method.config),
                                   "completed_iterations": completed, "budget_hit": budget_hit,
                                   "distill_s": round(self.distill_s, 1), **chosen},
                           zca=self.zca.to_tensors() if self.zca else {}, seed=self.cfg.seed,
                           schedule=self.method.schedule(), extra=self.method.extra_tensors())
        if self.cfg.final_eval_models > 0:
            res = self._evaluate(chosen["selected_iteration"] - 1, self.cfg.final_eval_models, images=images,
                                 lrs=lrs, reuse=True)
            syn.evaluations.append(res.to_dict())
        if self.folder:
            syn.save(self.folder.artifact)
            syn.export_png(self.folder.path / "grid.png")
        self.callback({"event": "done", "completed": completed})
        return syn
