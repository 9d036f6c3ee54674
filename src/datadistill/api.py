"""The Python API: distill, evaluate, load, baseline — the same functions the CLI calls."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from .augment.zca import zca_transform
from .baselines import random_real, whole_dataset
from .data import DataLike, resolve_data
from .distributed import current_world
from .errors import ConfigError
from .evaluate import (
    EvalResult,
    EvalSpec,
    Protocol,
    dc_protocol,
    evaluate_any,
    evaluate_tensors,
    get_protocol,
)
from .evaluate.cache import set_evaluation_cache
from .run import Distiller, RunConfig
from .synthetic import SyntheticSet


def distill(data: DataLike = "digits", method: str = "dc", ipc: int = 1, *, out: str | Path | None = None,
            resume: bool = False, data_root: str | Path | None = None,
            callback: Callable[[dict], None] | None = None, budget_s: float | None = None,
            **settings: Any) -> SyntheticSet:
    """Distill `data` with `method` at `ipc` images per class; settings are RunConfig fields or method options.

    Example: distill((x_tr, y_tr, x_te, y_te), "dsa", ipc=10, iterations=200, seed=1)
    """
    splits = resolve_data(data, data_root)
    run_fields = set(RunConfig.__dataclass_fields__) - {"method", "ipc", "dataset", "method_kw"}
    run_kw = {k: v for k, v in settings.items() if k in run_fields}
    method_kw = {k: v for k, v in settings.items() if k not in run_fields}
    cfg = RunConfig(method=method, dataset=splits.info.name, ipc=ipc, method_kw=method_kw, **run_kw)
    return Distiller(cfg, splits, Path(out) if out else None, callback).run(resume=resume, budget_s=budget_s)


def load(path: str | Path) -> SyntheticSet:
    """Load a distilled set (artifact file or run folder); `.to_dataset()` gives a torch Dataset."""
    return SyntheticSet.load(path)


def evaluate(syn: SyntheticSet | str | Path, data: DataLike | None = None, *, model: str = "convnet",
             runs: int = 5, protocol: str | Protocol | None = None, seed: int = 0,
             data_root: str | Path | None = None, device: str = "cpu", on_model: Callable[[int, float], None] | None = None,
             batched: bool = False, cache_file: str | Path | None = None, compile: bool = False,
             **model_kw: Any) -> EvalResult:
    """Train `runs` fresh `model`s on the set with the protocol (default: the one it was made for); `batched`
    trains them together (vmap over stacked parameters, same per-model results) where the architecture allows;
    `compile` runs the training passes through torch.compile (faster where it pays: bench/bench_compile.py).
    `on_model(i, acc)` is called as each model is tested. With `cache_file` (JSON lines), each model's accuracy
    is kept there as soon as it is known, keyed by the set's content, data, model, protocol and seed; a later call
    with the same key trains only the models the file lacks (an interrupted evaluation resumes model by model;
    `config['cached_models']` says how many came from the file)."""
    syn = syn if isinstance(syn, SyntheticSet) else load(syn)
    splits = resolve_data(data if data is not None else syn.info.name, data_root)
    if splits.info.im_size != syn.info.im_size or splits.info.channels != syn.info.channels:
        raise ConfigError(f"set is {syn.info.channels}x{syn.info.im_size} but test data is "
                          f"{splits.info.channels}x{splits.info.im_size}; evaluate on the dataset it was made from")
    if syn.zca:  # a whitened set is only meaningful against whitened test images
        splits = splits.map_images(lambda x: zca_transform(x, syn.zca))
    name = protocol or syn.config.get("protocol") or dc_protocol(syn.info.name)
    proto = get_protocol(name)
    spec = EvalSpec(model, proto, runs, seed, tuple(sorted(model_kw.items())), device, batched=batched,
                    compile=compile, world=current_world())
    known: dict[int, float] = {}
    if cache_file is not None:
        cache = set_evaluation_cache(cache_file, syn.images, syn.labels, syn.lrs, splits.test, spec,
                                     data=splits.info.name)
        known = cache.known(runs)
        on_model = cache.keeping(on_model)
    res = evaluate_any(syn.images, syn.labels, syn.info, splits.test, spec, lrs=syn.lrs, schedule=syn.schedule,
                       extra=syn.extra, on_model=on_model, known=known)
    res.config["cached_models"] = len(known)
    return res


__all__ = ["distill", "evaluate", "load", "random_real", "whole_dataset", "resolve_data", "EvalSpec",
           "evaluate_tensors"]
