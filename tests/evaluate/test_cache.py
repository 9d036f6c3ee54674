"""Per-model accuracy cache: what is kept comes back under its key only, and an evaluation with a cache file
trains only the models the file lacks."""
import importlib
import json

import pytest
import torch

from datadistill import api
from datadistill.evaluate.cache import AccuracyCache, cached_evaluations, tensor_digest


def test_kept_accuracies_come_back_under_their_key_only(tmp_path):
    file = tmp_path / "sub" / "acc.jsonl"
    cache = AccuracyCache(file, {"set": "a", "seed": 0}, note={"precision": "fp32"})
    assert cache.known(5) == {} and not file.exists()
    seen = []
    keep = cache.keeping(lambda i, a: seen.append(i))
    keep(0, 91.25)
    cache.keep(2, 90.5)
    AccuracyCache(file, {"set": "b", "seed": 0}).keep(1, 10.0)
    # key order does not matter; models beyond `runs` are not taken
    assert AccuracyCache(file, {"seed": 0, "set": "a"}).known(5) == {0: 91.25, 2: 90.5}
    assert cache.known(1) == {0: 91.25} and seen == [0]
    assert AccuracyCache(file, {"set": "a", "seed": 1}).known(5) == {}
    first = json.loads(file.read_text().splitlines()[0])
    assert first == {"key": {"set": "a", "seed": 0}, "model_index": 0, "acc": 91.25, "precision": "fp32"}


def test_a_cache_file_lists_every_key_with_its_models(tmp_path):
    file = tmp_path / "acc.jsonl"
    assert cached_evaluations(file) == []
    a, b = AccuracyCache(file, {"set": "a"}), AccuracyCache(file, {"set": "b"})
    a.keep(1, 80.0)
    b.keep(0, 10.0)
    a.keep(0, 70.0)
    a.keep(1, 85.0)  # the same model again: the later line wins, as in known()
    assert cached_evaluations(file) == [({"set": "a"}, {1: 85.0, 0: 70.0}), ({"set": "b"}, {0: 10.0})]
    assert dict(cached_evaluations(file)[0][1]) == a.known(2)


def test_tensor_digest_tells_sets_apart():
    x = torch.arange(12.0).reshape(3, 4)
    assert tensor_digest(x, None) == tensor_digest(x.t().contiguous().t(), None)  # values, not memory layout
    assert tensor_digest(x) != tensor_digest(x.reshape(4, 3))  # shape
    assert tensor_digest(x) != tensor_digest(x.double())  # dtype
    y = x.clone()
    y[1, 2] += 1e-3
    assert tensor_digest(x) != tensor_digest(y) and tensor_digest(x, None) != tensor_digest(x)
    assert len(tensor_digest(torch.tensor(1.5))) == 16


def test_evaluate_with_a_cache_file_trains_only_the_models_it_lacks(digits, tmp_path, monkeypatch):
    train_mod = importlib.import_module("datadistill.evaluate.train")  # the package name is also a function
    syn = api.random_real(digits, 2, seed=0)
    file = tmp_path / "acc.jsonl"
    first = api.evaluate(syn, digits, runs=2, protocol="quick", seed=0, cache_file=file)
    assert first.config["cached_models"] == 0 and len(file.read_text().splitlines()) == 2
    trained, seen = [], []
    real = train_mod.train_network
    monkeypatch.setattr(train_mod, "train_network", lambda *a, **k: trained.append(1) or real(*a, **k))
    more = api.evaluate(syn, digits, runs=3, protocol="quick", seed=0, cache_file=file,
                        on_model=lambda i, a: seen.append(i))
    assert len(trained) == 1 and seen == [2] and more.config["cached_models"] == 2
    assert more.accs[:2] == first.accs
    fresh = api.evaluate(syn, digits, runs=3, protocol="quick", seed=0)  # no cache: the same three accuracies
    assert fresh.accs == pytest.approx(more.accs, abs=1e-6)
    other = api.random_real(digits, 2, seed=1)  # another set: nothing cached for it
    assert api.evaluate(other, digits, runs=1, protocol="quick", seed=0, cache_file=file).config["cached_models"] == 0


def test_a_compiled_evaluation_shares_the_key_and_notes_that_it_compiled(digits, tmp_path):
    from datadistill.evaluate import EvalSpec, get_protocol
    from datadistill.evaluate.cache import set_evaluation_cache

    x, y = digits.train.images[:20], digits.train.labels[:20]
    proto = get_protocol("quick", epochs=1)
    plain = set_evaluation_cache(tmp_path / "a.jsonl", x, y, None, digits.test, EvalSpec("convnet", proto, 1))
    compiled = set_evaluation_cache(tmp_path / "a.jsonl", x, y, None, digits.test,
                                    EvalSpec("convnet", proto, 1, compile=True))
    assert compiled.key == plain.key  # compiling changes float order, not the training: the same cached models
    compiled.keep(0, 90.0)
    line = json.loads((tmp_path / "a.jsonl").read_text())
    assert line["compiled"] is True and "compiled" not in plain.note and plain.known(1) == {0: 90.0}
