"""Reference points for every distilled set: random real images at the same IPC, and the whole dataset."""
from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .augment import AUGMENTATIONS
from .data import DataLike, DatasetSplits, resolve_data
from .evaluate import EvalResult, EvalSpec, Protocol, evaluate_tensors
from .evaluate.cache import AccuracyCache, cached_evaluations, run_note
from .registry import Registry
from .seeding import make_generator
from .synthetic import SyntheticSet

if TYPE_CHECKING:
    from .coresets import SelectionSource

# Whole-dataset recipe: the evaluation SGD settings, bf16 autocast, 20 epochs with the step decay at half
# (results cached by whole_dataset). Not a paper protocol: the papers train to convergence on a GPU.
WHOLE = Protocol("whole", epochs=20, precision="bf16")
WHOLE_CACHE = "whole.jsonl"  # whole_dataset's accuracies, in its cache_dir
# Toneva et al.'s MNIST counting run (run_mnist.py of their code): their small CNN (here LeNet), SGD lr 0.01,
# momentum 0.5, no weight decay, batch 64, 200 epochs at a constant lr, no augmentation.
TONEVA_MNIST = Protocol("toneva-mnist", epochs=200, momentum=0.5, weight_decay=0.0, batch_size=64, decay_factor=1.0)


@dataclass(frozen=True)
class FeatureRecipe:
    """How the whole-data network behind herding / k-center features and forgetting counts is trained."""

    model: str
    protocol: Protocol


FEATURE_RECIPES: Registry[FeatureRecipe] = Registry("feature recipe")
FEATURE_RECIPES.register("whole")(FeatureRecipe("convnet", WHOLE))
FEATURE_RECIPES.register("toneva-mnist", "toneva")(FeatureRecipe("lenet", TONEVA_MNIST))


def feature_recipe(name: str = "whole", epochs: int | None = None, augment: str | None = None) -> FeatureRecipe:
    """The named recipe with its epochs and augmentation replaced where given (unknown names: ConfigError)."""
    recipe = FEATURE_RECIPES.get(name)
    if augment is not None:
        AUGMENTATIONS.get(augment)
    changes = {k: v for k, v in (("epochs", epochs), ("augment", augment)) if v is not None}
    return replace(recipe, protocol=replace(recipe.protocol, **changes))


def feature_source(data: DatasetSplits, recipe: FeatureRecipe, seed: int = 0,
                   cache_dir: Path | str | None = None) -> SelectionSource:
    """The selection source whose network (trained once, cached in cache_dir) follows `recipe`."""
    from .coresets import SelectionSource

    return SelectionSource(data, seed=seed, model=recipe.model, cache_dir=Path(cache_dir) if cache_dir else None,
                           recipe=recipe.protocol)


def random_real(data: DataLike, ipc: int, seed: int = 0) -> SyntheticSet:
    """ipc random real training images per class, as a SyntheticSet (the 'random' baseline); data as api.distill
    takes it."""
    from .coresets import coreset_set

    return coreset_set("random", data, ipc, seed)


def whole_dataset(data: DataLike, spec: EvalSpec, cache_dir: Path | str | None = None,
                  on_model: Callable[[int, float], None] | None = None) -> EvalResult:
    """Accuracy of networks trained on the whole training split (spec.protocol or WHOLE); `on_model(i, acc)` is
    called as each network is tested.

    With `cache_dir`, every trained model's accuracy is appended to `<cache_dir>/whole.jsonl` as soon as it is
    known, under a key of dataset, split sizes, model, protocol and seed; a later call with the same key trains
    only the models the cache lacks (so a longer or interrupted run continues where it stopped). A model in
    training is saved after every epoch under `<cache_dir>/whole-progress/`, so an interruption loses at most
    one epoch; the folder is removed once every model is tested.
    """
    spec = spec if spec.protocol is not None else EvalSpec(**{**spec.__dict__, "protocol": WHOLE})
    data = resolve_data(data)
    x, y = data.train.images, data.train.labels
    if cache_dir is None:
        return evaluate_tensors(x, y, data.info, data.test, spec, on_model=on_model)
    cache = AccuracyCache(Path(cache_dir) / WHOLE_CACHE, {
        "dataset": data.info.name, "n_train": len(data.train), "n_test": len(data.test), "model": spec.model,
        "model_kw": dict(spec.model_kw), "protocol": spec.protocol.to_dict(), "seed": spec.seed},
        note=run_note(spec))
    known = cache.known(spec.runs)
    progress = None if spec.batched else Path(cache_dir) / "whole-progress" / cache.digest
    res = evaluate_tensors(x, y, data.info, data.test, spec, on_model=cache.keeping(on_model), known=known,
                           checkpoint_dir=progress)
    res.config["cached_models"] = len(known)
    if progress is not None:  # every model is tested and its file gone: leave no empty folders behind
        for folder in (progress, progress.parent):
            with contextlib.suppress(OSError):  # absent, or still holding another key's training
                folder.rmdir()
    return res


def cached_whole(cache_dir: str | Path) -> list[EvalResult]:
    """The whole-dataset accuracies whole_dataset kept in `cache_dir`: one result per dataset, model and recipe,
    pooling the networks of every seed (ordered by seed, then model index). config holds the dataset, the
    recipe's epochs and the training split's size. [] when the folder holds none."""
    pooled: dict[str, tuple[dict, list[tuple[int, int, float]]]] = {}
    for key, accs in cached_evaluations(Path(cache_dir) / WHOLE_CACHE):
        rest = {k: v for k, v in key.items() if k != "seed"}
        entry = pooled.setdefault(json.dumps(rest, sort_keys=True), (rest, []))
        entry[1].extend((int(key.get("seed", 0)), i, a) for i, a in accs.items())
    results = []
    for rest, models in pooled.values():
        models.sort()
        results.append(EvalResult(rest["protocol"]["name"], rest["model"], [a for _, _, a in models], models[0][0],
                                  {"dataset": rest["dataset"], "epochs": rest["protocol"]["epochs"],
                                   "n_train": rest["n_train"], "seeds": sorted({s for s, _, _ in models})}))
    return results


def class_average(data: DataLike, ipc: int = 1, seed: int = 0) -> SyntheticSet:
    """Average images (DD's baseline): per class, the means of ipc random disjoint parts of the class
    (ipc = 1: the class mean)."""
    data = resolve_data(data)
    data.train.check_ipc(ipc)
    gen = make_generator(seed, "baseline", "average", ipc)
    xs = []
    for ix in data.train.class_indices:
        parts = torch.randperm(len(ix), generator=gen).tensor_split(ipc)
        xs += [data.train.images[ix[p]].mean(0) for p in parts]
    k, info = data.info.num_classes, data.info
    return SyntheticSet(torch.stack(xs), torch.arange(k).repeat_interleave(ipc), info, "average", ipc,
                        config={"baseline": "average"}, seed=seed)


def kmeans_centroids(data: DataLike, ipc: int = 1, seed: int = 0, max_iter: int = 100) -> SyntheticSet:
    """k-means centroids (DD's baseline): ipc clusters per class, Lloyd's algorithm with k-means++ seeding."""
    data = resolve_data(data)
    data.train.check_ipc(ipc)
    gen = make_generator(seed, "baseline", "kmeans", ipc)
    xs = [kmeans(data.train.images[ix].flatten(1), ipc, gen, max_iter) for ix in data.train.class_indices]
    k, info = data.info.num_classes, data.info
    x = torch.cat(xs).view(k * ipc, info.channels, *info.im_size)
    return SyntheticSet(x, torch.arange(k).repeat_interleave(ipc), info, "kmeans", ipc,
                        config={"baseline": "kmeans"}, seed=seed)


def kmeans(x: torch.Tensor, k: int, generator: torch.Generator, max_iter: int = 100) -> torch.Tensor:
    """k centroids of the rows of x (k-means++ seeding from `generator`, then Lloyd iterations)."""
    x = x.double()
    centres = x[torch.randint(len(x), (1,), generator=generator)]
    for _ in range(1, k):
        d2 = torch.cdist(x, centres).min(1).values ** 2
        pick = torch.multinomial(d2 / d2.sum() if d2.sum() > 0 else torch.ones_like(d2), 1, generator=generator)
        centres = torch.cat([centres, x[pick]])
    for _ in range(max_iter):
        assign = torch.cdist(x, centres).argmin(1)
        new = torch.stack([x[assign == j].mean(0) if (assign == j).any() else centres[j] for j in range(k)])
        if torch.allclose(new, centres):
            break
        centres = new
    return centres.float()


def knn_accuracy(syn: SyntheticSet, test_images: torch.Tensor, test_labels: torch.Tensor, k: int = 1,
                 p: float = 2.0) -> float:
    """k-NN classification (DD's baseline) of the test images with the set as references; % correct.

    p = 1 (l1) or 2 (l2) distance on the flattened images; ties in the vote go to the nearest neighbour's class.
    """
    ref, lab = syn.images.flatten(1).float(), syn.labels
    correct = 0
    for s in range(0, len(test_images), 1000):
        d = torch.cdist(test_images[s:s + 1000].flatten(1).float(), ref, p=p)
        nn_idx = d.topk(min(k, len(ref)), largest=False).indices  # nearest first
        votes = lab[nn_idx]
        counts = torch.nn.functional.one_hot(votes, syn.info.num_classes).sum(1).float()
        counts[torch.arange(len(votes)), votes[:, 0]] += 0.5  # tie-break: the nearest neighbour
        correct += int((counts.argmax(1) == test_labels[s:s + 1000]).sum())
    return 100.0 * correct / max(1, len(test_images))
