"""Coreset selections: valid indices, herding tracks the mean, k-center covers outliers, forgetting counts."""
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

from datadistill.coresets import SELECTIONS, SelectionSource, coreset_set, select, selection_label
from datadistill.coresets.forgetting import forgetting_events
from datadistill.coresets.herding import herd, nearest
from datadistill.coresets.kcenter import k_center
from datadistill.errors import ConfigError
from datadistill.evaluate import get_protocol
from datadistill.evaluate.train import train_network

RECIPE = get_protocol("quick", name="tiny-whole", epochs=3, batch_size=128)


@pytest.fixture(scope="module")
def source(digits, tmp_path_factory):
    return SelectionSource(digits, seed=0, cache_dir=tmp_path_factory.mktemp("cache"), recipe=RECIPE)


@pytest.mark.parametrize("name", sorted(set(SELECTIONS.names()) - {"k-center", "optimal"}))
def test_each_selection_returns_ipc_distinct_indices_of_the_right_class(name, source, digits):
    opts = {"candidates": 2, "protocol": get_protocol("quick", epochs=20)} if name == "optimal_random" else {}
    idx = select(name, source, 3, seed=1, **opts)
    assert idx.shape == (10, 3)
    for c in range(10):
        assert len(set(idx[c].tolist())) == 3
        assert (digits.train.labels[idx[c]] == c).all()
    syn = coreset_set(name, source, 3, seed=1, **opts)
    assert torch.equal(syn.images, digits.train.images[idx.reshape(-1)])


def test_a_coreset_set_records_the_network_it_was_selected_with(source):
    herding = coreset_set("herding", source, 2)
    assert herding.config["features"] == source.provenance()
    assert herding.config["features"]["epochs"] == 3 and f"_r{herding.config['features']['recipe']}." in \
        source.cache_file.name
    plain = coreset_set("random", source, 2)  # the same source, its network already trained: not used here
    assert "features" not in plain.config and selection_label("random", plain.config) == "random"
    assert selection_label("herding", herding.config) == "herding (convnet 3-epoch features)"
    first = coreset_set("forgetting", source, 2, never_learned="first")
    assert selection_label("forgetting", first.config) == "forgetting (never_learned=first; convnet 3-epoch features)"
    default = {"options": {}, "features": {**source.provenance(), "epochs": 20}}  # the whole-data recipe's network
    assert selection_label("kcenter", default) == "kcenter"
    augmented = {"options": {}, "features": {**source.provenance(), "epochs": 20, "augment": "dc"}}
    assert selection_label("kcenter", augmented) == "kcenter (convnet 20-epoch features, dc-augmented)"


def test_herding_running_mean_tracks_the_class_mean():
    gen = torch.Generator().manual_seed(0)
    pts = torch.randn(200, 2, generator=gen) * torch.tensor([3.0, 0.5]) + torch.tensor([1.0, -2.0])
    picks = herd(pts, 8)
    mu = pts.mean(0)
    assert int(picks[0]) == int(((pts - mu) ** 2).sum(1).argmin())  # first: nearest the mean
    for t in range(1, 8):  # every step: no other point would bring the running mean closer
        chosen = pts[picks[:t]].sum(0)
        err = ((mu - (chosen + pts) / (t + 1)) ** 2).sum(1)
        err[picks[:t]] = float("inf")
        assert int(picks[t]) == int(err.argmin())
    herd_err = ((pts[picks].mean(0) - mu) ** 2).sum()
    rand_err = torch.stack([((pts[torch.randperm(200, generator=gen)[:8]].mean(0) - mu) ** 2).sum()
                            for _ in range(50)]).mean()
    assert herd_err < rand_err / 10


def test_nearest_mean_takes_the_points_closest_to_the_mean_and_herding_spreads_out():
    pts = torch.tensor([[0.0, 0.0], [0.1, 0.0], [0.2, 0.0], [-0.6, 0.0]])  # mean -0.075
    assert nearest(pts, 3).tolist() == [0, 1, 2]
    assert herd(pts, 3).tolist() == [0, 1, 3]  # the third pick pulls the running mean back to the class mean


def test_nearest_mean_equals_herding_at_one_image_per_class(source):
    assert torch.equal(select("nearest_mean", source, 1), select("herding", source, 1))


def test_k_center_covers_the_outlier():
    gen = torch.Generator().manual_seed(0)
    pts = torch.cat([torch.randn(50, 2, generator=gen) * 0.1, torch.tensor([[25.0, 25.0]])])
    picks = k_center(pts, 2).tolist()
    assert 50 in picks and len(set(picks)) == 2


def test_herding_and_k_center_measure_in_the_feature_space_they_are_given(digits, tmp_path):
    fresh = SelectionSource(digits, seed=0, cache_dir=tmp_path, recipe=RECIPE)
    pixels = fresh.features("pixels")
    assert pixels.shape == (len(digits.train), digits.train.images[0].numel()) and not fresh.network_used
    assert not any(tmp_path.iterdir())  # the pixel space trains no network
    logits = fresh.features("logits")
    assert logits.shape == (len(digits.train), 10) and fresh.network_used
    torch.testing.assert_close(logits, fresh._net.classifier(fresh.features()))  # logits: the classifier on embed
    for name, pick in (("kcenter", k_center), ("herding", herd), ("nearest_mean", nearest)):
        for space, feats in (("pixels", pixels), ("logits", logits)):
            idx = select(name, fresh, 3, space=space)
            ix = digits.train.class_indices[4]
            assert torch.equal(idx[4], ix[pick(feats[ix], 3)])
    assert not torch.equal(select("kcenter", fresh, 3, space="pixels"), select("kcenter", fresh, 3))
    labelled = coreset_set("kcenter", fresh, 2, space="logits")
    assert selection_label("kcenter", labelled.config) == "kcenter (space=logits; convnet 3-epoch features)"
    with pytest.raises(ConfigError, match="unknown feature space 'pixel': use one of embed, logits, pixels"):
        select("herding", fresh, 2, space="pixel")


def test_forgetting_events_match_a_hand_count():
    correct = torch.tensor([[1, 0, 1, 1],
                            [0, 0, 1, 1],
                            [1, 0, 0, 1],
                            [0, 1, 1, 0]], dtype=torch.bool)  # rows: presentations, columns: examples
    assert forgetting_events(correct).tolist() == [2, 0, 1, 1]


def test_online_forgetting_counts_equal_the_recorded_history(source, digits):
    counts = source.forgetting_counts()
    net, gen = source._new_net()
    rows = {}

    def record(idx, logits):
        ok = logits.argmax(1) == digits.train.labels[idx]
        for i, o in zip(idx.tolist(), ok.tolist()):
            rows.setdefault(i, []).append(o)

    train_network(net, digits.train.images, digits.train.labels, RECIPE, gen, on_batch=record)
    want = [sum(1 for a, b in zip(h, h[1:]) if a and not b) for _, h in sorted(rows.items())]
    assert counts.tolist() == want and sum(want) > 0
    assert source.ever_learned().tolist() == [any(h) for _, h in sorted(rows.items())]


class _Counted:
    """A selection source with given forgetting counts and learned flags (two classes of four images)."""

    def __init__(self, counts, learned, later_runs=()):
        self._counts, self._learned = torch.tensor(counts), torch.tensor(learned)
        self.data = SimpleNamespace(train=SimpleNamespace(class_indices=[torch.arange(4), torch.arange(4, 8)]))
        self.recipe = SimpleNamespace(epochs=10)
        self._later = list(later_runs)

    def runs(self, n):
        return [self, *self._later][:n]

    def forgetting_counts(self):
        return self._counts

    def ever_learned(self):
        return self._learned


def test_forgetting_takes_the_most_forgotten_or_never_learned_images_first():
    src = _Counted([0, 5, 1, 0, 2, 0, 3, 1], [True, True, True, False, True, False, True, True])
    pick = SELECTIONS.get("forgetting")
    idx = pick(src, 2, torch.Generator().manual_seed(0))
    assert idx.tolist() == [[1, 2], [6, 4]]  # by count: 5, 1 and 3, 2
    idx = pick(src, 2, torch.Generator().manual_seed(0), never_learned="first")
    assert idx.tolist() == [[3, 1], [5, 6]]  # never learned (3, 5), then the largest count (1, 6)
    with pytest.raises(ConfigError, match="never_learned"):
        pick(src, 2, torch.Generator(), never_learned="last")


def test_forgetting_sums_the_counts_of_several_runs():
    second = _Counted([4, 0, 1, 0, 0, 0, 0, 3], [True] * 8)
    src = _Counted([0, 5, 1, 0, 2, 0, 3, 1], [True, True, True, False, True, True, True, True], [second])
    pick = SELECTIONS.get("forgetting")
    assert pick(src, 2, torch.Generator().manual_seed(0), runs=2).tolist() == [[1, 0], [7, 6]]  # 5, 4 and 4, 3
    assert pick(src, 2, torch.Generator().manual_seed(0)).tolist() == [[1, 2], [6, 4]]  # the first run alone
    # never learned in a run: that run adds its epochs (10), Toneva et al.'s rule; image 3 sums to 10 + 0
    idx = pick(src, 2, torch.Generator().manual_seed(0), runs=2, never_learned="first")
    assert idx.tolist() == [[3, 1], [7, 6]]
    for bad in (0, 1.5):
        with pytest.raises(ConfigError, match="runs"):
            pick(src, 2, torch.Generator(), runs=bad)


def test_runs_of_a_real_source_are_networks_of_the_next_seeds(source, digits):
    first, second = source.runs(2)
    assert first is source and second.seed == 1 and second.recipe == source.recipe
    idx = select("forgetting", source, 3, seed=1, runs=2)
    assert second.cache_file.exists() and second.cache_file != source.cache_file
    total = source.forgetting_counts() + second.forgetting_counts()
    for c, ix in enumerate(digits.train.class_indices):
        assert total[idx[c]].min() >= total[ix].sort(descending=True).values[2]  # the 3 most forgotten in sum


def test_global_forgetting_takes_the_most_forgotten_of_the_whole_set_whatever_their_class():
    src = _Counted([0, 5, 1, 0, 2, 0, 3, 4], [True] * 8)
    pick = SELECTIONS.get("forgetting")
    assert pick(src, 2, torch.Generator().manual_seed(0), scope="global").tolist() == [1, 7, 6, 4]  # 5, 4, 3, 2
    src = _Counted([0, 5, 1, 0, 2, 0, 3, 1], [True, True, True, False, True, True, True, True])
    idx = pick(src, 1, torch.Generator().manual_seed(0), scope="global", never_learned="first")
    assert idx.tolist() == [3, 1]  # never learned first, then the largest count: both from class 0
    with pytest.raises(ConfigError, match="scope"):
        pick(src, 2, torch.Generator(), scope="everywhere")


def test_a_global_forgetting_set_keeps_the_labels_of_its_images(source, digits):
    syn = coreset_set("forgetting", source, 3, seed=1, scope="global")
    idx = torch.tensor(syn.config["indices"])
    counts = source.forgetting_counts()
    assert len(set(idx.tolist())) == 30 and torch.equal(syn.labels, digits.train.labels[idx])
    assert counts[idx].min() >= counts.sort(descending=True).values[29]  # no image left out forgotten more often


def test_features_are_cached(source, digits):
    source.features()
    assert source.cache_file.exists()
    again = SelectionSource(digits, seed=0, cache_dir=source.cache_dir, recipe=RECIPE)
    torch.testing.assert_close(again.features(), source.features())
    assert torch.equal(again.forgetting_counts(), source.forgetting_counts())


def test_an_unwritable_cache_keeps_the_trained_network_and_warns(source, digits, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # a folder cannot be made under a file (even as root, unlike a read-only mode)
    unwritable = SelectionSource(digits, seed=0, cache_dir=blocker / "cache", recipe=RECIPE)
    torch.testing.assert_close(unwritable.features(), source.features())  # same seeded network, not cached
    assert "could not cache the feature network" in caplog.text and not (blocker / "cache").exists()


def test_networks_of_different_recipes_are_cached_side_by_side(source, digits, monkeypatch):
    source.features()
    other = SelectionSource(digits, seed=0, cache_dir=source.cache_dir, recipe=replace(RECIPE, epochs=1))
    assert other.cache_file != source.cache_file
    other.forgetting_counts()  # trains and caches the 1-epoch network next to the 3-epoch one
    assert other.cache_file.exists() and source.cache_file.exists()
    monkeypatch.setattr(SelectionSource, "_train", lambda *a: pytest.fail("retrained a cached network"))
    again = SelectionSource(digits, seed=0, cache_dir=source.cache_dir, recipe=RECIPE)
    torch.testing.assert_close(again.features(), source.features())


def test_an_augmented_recipe_counts_forgetting_on_the_augmented_batches(digits, tmp_path, monkeypatch):
    from datadistill.evaluate import train as train_module

    seen = []

    def make(name, dataset):  # records every batch it augments; flips the images so the batches really differ
        seen.append((name, dataset))
        return lambda x, gen: (seen.append(len(x)), x.flip(-1))[1]

    monkeypatch.setattr(train_module, "make_augment", make)
    aug = SelectionSource(digits, seed=0, cache_dir=tmp_path, recipe=replace(RECIPE, augment="dc"))
    plain = SelectionSource(digits, seed=0, cache_dir=tmp_path, recipe=RECIPE)
    assert aug.cache_file != plain.cache_file  # the augmentation is part of the recipe's hash
    counts = aug.forgetting_counts()
    assert seen[0] == ("dc", digits.info.name)
    assert sum(seen[1:]) == RECIPE.epochs * len(digits.train)  # every presentation was augmented
    assert not torch.equal(counts, plain.forgetting_counts())  # and the counts judge the augmented images
    assert len(seen) == 1 + RECIPE.epochs * -(-len(digits.train) // RECIPE.batch_size)  # none for the plain run


def test_a_cache_named_without_the_recipe_hash_is_still_used(source, digits, tmp_path, monkeypatch):
    source.ever_learned()
    legacy = SelectionSource(digits, seed=0, cache_dir=tmp_path, recipe=RECIPE)
    plain = legacy.cache_file.with_name(legacy.cache_file.name.rsplit("_r", 1)[0] + ".safetensors")
    plain.write_bytes(source.cache_file.read_bytes())
    monkeypatch.setattr(SelectionSource, "_train", lambda *a: pytest.fail("retrained a cached network"))
    torch.testing.assert_close(legacy.features(), source.features())
    assert torch.equal(legacy.ever_learned(), source.ever_learned())


def test_a_cache_without_the_learned_record_retrains_only_when_asked_for_it(source, digits, tmp_path, monkeypatch):
    from safetensors import safe_open
    from safetensors.torch import save_file

    source.ever_learned()
    with safe_open(str(source.cache_file), framework="pt") as f:  # a cache as written before the 'learned' record
        meta, old = f.metadata(), {k: f.get_tensor(k) for k in ("params", "forgetting")}
    legacy = SelectionSource(digits, seed=0, cache_dir=tmp_path, recipe=RECIPE)
    save_file(old, str(legacy.cache_file), metadata=meta)
    trained = []
    real_train = SelectionSource._train
    monkeypatch.setattr(SelectionSource, "_train", lambda self, *a: trained.append(1) or real_train(self, *a))
    torch.testing.assert_close(legacy.features(), source.features())
    assert torch.equal(legacy.forgetting_counts(), source.forgetting_counts()) and not trained
    assert torch.equal(legacy.ever_learned(), source.ever_learned()) and trained == [1]


def test_ipc_too_large_is_an_error(source):
    with pytest.raises(ConfigError, match="out of range"):
        select("random", source, 100_000)


def test_the_optimal_random_selection_is_the_best_of_its_validation_ranking(source, digits, tmp_path, monkeypatch):
    from datadistill.coresets.optimal import rank_random_sets
    from datadistill.evaluate import train as train_module
    from datadistill.seeding import make_generator

    opts = {"candidates": 4, "protocol": get_protocol("quick", epochs=20), "val_fraction": 0.2}
    file = tmp_path / "screen.jsonl"
    ranked = rank_random_sets(source, 2, make_generator(5, "ors"), cache_file=file, **opts)
    accs = [c.val_acc for c in ranked]
    assert accs == sorted(accs, reverse=True) and sorted(c.draw for c in ranked) == [0, 1, 2, 3]
    assert len({tuple(c.indices.reshape(-1).tolist()) for c in ranked}) == 4  # four different draws
    _, held = digits.train.validation_indices(0.2, make_generator(5, "ors"))
    for c in ranked:  # no candidate holds a validation image
        assert not set(c.indices.reshape(-1).tolist()) & set(held.tolist())
    best = SELECTIONS.get("optimal_random")(source, 2, make_generator(5, "ors"), **opts)
    assert torch.equal(best, ranked[0].indices)
    assert len(file.read_text().splitlines()) == 4  # one validation accuracy per candidate, kept as it is known
    # a second ranking of the same candidates trains nothing: every accuracy comes from the cache
    monkeypatch.setattr(train_module, "train_network", lambda *a, **k: pytest.fail("retrained a screened set"))
    again = rank_random_sets(source, 2, make_generator(5, "ors"), cache_file=file, **opts)
    assert [(c.draw, c.val_acc) for c in again] == [(c.draw, c.val_acc) for c in ranked]
    assert torch.equal(again[0].indices, best)


def test_optimal_random_keeps_its_screening_in_the_sources_cache_folder(digits, tmp_path, caplog):
    from datadistill.coresets.optimal import SCREEN_CACHE

    opts = {"candidates": 3, "protocol": get_protocol("quick", epochs=5), "val_fraction": 0.2}
    cached = SelectionSource(digits, seed=0, cache_dir=tmp_path / "cache", recipe=RECIPE)
    picked = select("optimal_random", cached, 1, seed=2, **opts)
    assert len((tmp_path / "cache" / SCREEN_CACHE).read_text().splitlines()) == 3
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    unwritable = SelectionSource(digits, seed=0, cache_dir=blocker / "cache", recipe=RECIPE)
    assert torch.equal(select("optimal_random", unwritable, 1, seed=2, **opts), picked)  # the same, uncached
    assert "could not keep the screened sets' accuracies" in caplog.text
    uncached = SelectionSource(digits, seed=0, cache=False, recipe=RECIPE)
    assert torch.equal(select("optimal_random", uncached, 1, seed=2, **opts), picked)
