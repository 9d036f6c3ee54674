"""What feature-based selections need: a network trained once on the whole training set, cached.

One training run (the whole-dataset recipe, baselines.WHOLE) gives both the feature extractor for herding and
k-center (`embed` of the trained network) and the forgetting counts (predictions of every batch before its
update). The result is cached (flat parameters + counts + the recipe in metadata) as
`<cache_dir>/<dataset>_<model>_s<seed>_n<train size>_r<recipe hash>.safetensors`, by default in the dataset's folder
of the data root: networks trained with different recipes (say 5 and 20 epochs) sit side by side instead of
overwriting each other. A file named without the hash whose recipe matches is still used (caches written before).
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from safetensors import safe_open
from torch import Tensor

from ..data._common import cache_dir as dataset_cache_dir  # the field below is also cache_dir
from ..data.base import DatasetSplits
from ..errors import ConfigError
from ..evaluate.protocols import Protocol
from ..evaluate.train import protocol_augment, train_network
from ..fileio import handle_meta, save_tensors
from ..models import create_model
from ..models.flat import FlatLayout
from ..seeding import make_generator

log = logging.getLogger(__name__)

# The vector spaces herding and k-center can measure distances in: the trained network's embedding (the input of
# its classifier: the DC paper's "models trained on the whole dataset to extract features"), its logits, or the
# raw pixels (no network). Each maps (network or None, a batch of images) to one row per image.
FEATURE_SPACES: dict[str, tuple[bool, Callable[[torch.nn.Module | None, Tensor], Tensor]]] = {
    "embed": (True, lambda net, x: net.embed(x)),
    "logits": (True, lambda net, x: net(x)),
    "pixels": (False, lambda net, x: x.flatten(1)),
}


def whole_recipe() -> Protocol:
    """The default feature network's training recipe, baselines.WHOLE (imported late: baselines imports this)."""
    from ..baselines import WHOLE

    return WHOLE


@dataclass
class SelectionSource:
    """The data to select from plus the lazily trained (and cached) feature network and forgetting counts."""

    data: DatasetSplits
    seed: int = 0
    model: str = "convnet"
    cache_dir: Path | None = None  # None: <data root>/<dataset>/cache
    cache: bool = True
    recipe: Protocol = field(default_factory=whole_recipe)
    _net: torch.nn.Module | None = field(default=None, init=False, repr=False)
    _counts: Tensor | None = field(default=None, init=False, repr=False)
    _learned: Tensor | None = field(default=None, init=False, repr=False)
    _features: dict[str, Tensor] = field(default_factory=dict, init=False, repr=False)
    network_used: bool = field(default=False, init=False, repr=False)  # asked for features or counts since reset

    def provenance(self) -> dict[str, object]:
        """What a selection that used this source's network depended on: the network, its training recipe (epochs,
        augmentation, the hash in the cache file's name) and seed."""
        return {"model": self.model, "seed": self.seed, "epochs": self.recipe.epochs, "augment": self.recipe.augment,
                "n_train": len(self.data.train), "recipe": self._recipe_tag()}

    def _recipe_json(self) -> str:
        return json.dumps(self.recipe.to_dict(), sort_keys=True)

    def _recipe_tag(self) -> str:
        return hashlib.sha1(self._recipe_json().encode()).hexdigest()[:8]

    @property
    def cache_folder(self) -> Path:
        """Where this source caches what it computes: cache_dir, else <data root>/<dataset>/cache."""
        return Path(self.cache_dir) if self.cache_dir else dataset_cache_dir(self.data.info.name)

    @property
    def _plain_cache_file(self) -> Path:
        # the training-set size is in the name, so a network for a split (e.g. train minus a validation part)
        # never overwrites the one for the whole training set
        model = self.model.replace(":", "-")  # a model spec (convnet:depth=2) keeps the name portable
        return self.cache_folder / f"{self.data.info.name}_{model}_s{self.seed}_n{len(self.data.train)}.safetensors"

    @property
    def cache_file(self) -> Path:
        """Where this source's network is cached: the plain name plus `_r<hash of the training recipe>`."""
        plain = self._plain_cache_file
        return plain.with_name(f"{plain.stem}_r{self._recipe_tag()}{plain.suffix}")

    def _new_net(self) -> tuple[torch.nn.Module, torch.Generator]:
        info = self.data.info
        gen = make_generator(self.seed, "coreset", "features", self.model)
        return create_model(self.model, info.channels, info.num_classes, info.im_size, generator=gen), gen

    def _ensure(self, need_learned: bool = False) -> None:
        """Load the cached network (or train it); a cache from before the 'learned' record serves features and
        counts, and is retrained (the same seeded network comes back) only when that record is asked for."""
        if self._net is not None and (self._learned is not None or not need_learned):
            return
        net, gen = self._new_net()
        layout = FlatLayout.of(net)
        recipe = self._recipe_json()
        file = self.cache_file
        for cached in (file, self._plain_cache_file) if self.cache else ():
            if not cached.exists():
                continue
            with safe_open(str(cached), framework="pt") as f:
                meta = json.loads(handle_meta(f) or "{}")
                has_learned = "learned" in f.keys()
                if (meta.get("recipe") == recipe and meta.get("n_train") == len(self.data.train)
                        and (has_learned or not need_learned)):
                    layout.load_into(net, f.get_tensor("params"))
                    self._net, self._counts = net.eval(), f.get_tensor("forgetting")
                    self._learned = f.get_tensor("learned") if has_learned else None
                    return
        self._net, self._counts, self._learned = self._train(net, gen)
        if self.cache:
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
                save_tensors(file, {"params": layout.flatten(self._net), "forgetting": self._counts,
                                    "learned": self._learned}, {"recipe": recipe, "n_train": len(self.data.train)})
            except OSError as err:  # a read-only data root: keep the trained network, only the cache is lost
                log.warning("could not cache the feature network in %s (%s); pass a writable cache folder "
                            "(cache_dir) to keep it for later runs", file.parent, err)

    def _train(self, net: torch.nn.Module, gen: torch.Generator) -> tuple[torch.nn.Module, Tensor, Tensor]:
        """Whole-data training; every batch's predictions (before its update) feed the forgetting counts and
        the record of which images were ever classified correctly. A recipe with augmentation (say 'dc', the
        DC paper's MNIST crop-scale-rotate) trains on augmented batches, and the counts judge the images as
        presented (as Toneva et al. count on augmented CIFAR-10)."""
        n = len(self.data.train)
        last = torch.zeros(n, dtype=torch.bool)  # correct at the previous presentation
        seen = torch.zeros(n, dtype=torch.bool)
        counts = torch.zeros(n, dtype=torch.int32)
        learned = torch.zeros(n, dtype=torch.bool)  # correct at some presentation

        def on_batch(idx: Tensor, logits: Tensor) -> None:
            idx = idx.cpu()
            now = logits.argmax(1).cpu() == self.data.train.labels[idx]
            counts[idx] += (seen[idx] & last[idx] & ~now).int()
            last[idx], seen[idx] = now, True
            learned[idx] |= now

        train_network(net, self.data.train.images, self.data.train.labels, self.recipe, gen,
                      augment=protocol_augment(self.recipe, self.data.info.name), on_batch=on_batch)
        return net.eval(), counts, learned

    def runs(self, n: int) -> list[SelectionSource]:
        """This source and the n - 1 of the next seeds (same data, model, recipe and cache): repeated runs."""
        return [self] + [replace(self, seed=self.seed + r) for r in range(1, n)]

    def features(self, space: str = "embed", batch: int = 1000) -> Tensor:
        """Every training image as a row vector (N x d, float32; computed once per space): embed(x) under the
        trained network by default, its logits ('logits'), or the flattened pixels ('pixels', no network)."""
        if space not in FEATURE_SPACES:
            raise ConfigError(f"unknown feature space '{space}': use one of {', '.join(FEATURE_SPACES)}")
        needs_net, fn = FEATURE_SPACES[space]
        if needs_net:
            self.network_used = True
            self._ensure()
        if space not in self._features:
            x = self.data.train.images
            with torch.no_grad():
                self._features[space] = torch.cat([fn(self._net, x[s:s + batch]).float()
                                                   for s in range(0, len(x), batch)])
        return self._features[space]

    def forgetting_counts(self) -> Tensor:
        """Forgetting events of every training image during the whole-data training run."""
        self.network_used = True
        self._ensure()
        return self._counts

    def ever_learned(self) -> Tensor:
        """Per training image: classified correctly at one presentation at least during that training run."""
        self.network_used = True
        self._ensure(need_learned=True)
        return self._learned
