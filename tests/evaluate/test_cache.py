"""Per-model accuracy cache: what is kept comes back under its key only, and an evaluation given the known
models trains only the others."""
import importlib
import json

import pytest

from datadistill import api
from datadistill.evaluate.cache import AccuracyCache, digest


def test_kept_accuracies_come_back_under_their_key_only(tmp_path):
    file = tmp_path / "sub" / "acc.jsonl"
    cache = AccuracyCache(file, {"set": "a", "seed": 0}, note={"precision": "fp32"})
    assert cache.known(5) == {} and not file.exists()
    cache.keep(0, 91.25)
    cache.keep(2, 90.5)
    AccuracyCache(file, {"set": "b", "seed": 0}).keep(1, 10.0)
    # key order does not matter; models beyond `runs` are not taken
    assert AccuracyCache(file, {"seed": 0, "set": "a"}).known(5) == {0: 91.25, 2: 90.5}
    assert cache.known(1) == {0: 91.25}
    assert AccuracyCache(file, {"set": "a", "seed": 1}).known(5) == {}
    first = json.loads(file.read_text().splitlines()[0])
    assert first == {"key": {"set": "a", "seed": 0}, "model_index": 0, "acc": 91.25, "precision": "fp32"}


def test_digest_tells_selections_apart():
    assert digest([3, 1, 2]) == digest([3, 1, 2])
    assert digest([3, 1, 2]) != digest([1, 2, 3]) and len(digest(range(500))) == 16


def test_evaluate_trains_only_the_models_not_known(digits, tmp_path, monkeypatch):
    train_mod = importlib.import_module("datadistill.evaluate.train")  # the package name is also a function
    syn = api.random_real(digits, 2, seed=0)
    cache = AccuracyCache(tmp_path / "acc.jsonl", {"set": "random", "ipc": 2})
    full = api.evaluate(syn, digits, runs=3, protocol="quick", seed=0)
    trained = []
    real = train_mod.train_network
    monkeypatch.setattr(train_mod, "train_network", lambda *a, **k: trained.append(1) or real(*a, **k))
    part = api.evaluate(syn, digits, runs=3, protocol="quick", seed=0, known={1: full.accs[1]}, on_model=cache.keep)
    assert len(trained) == 2 and part.accs == pytest.approx(full.accs, abs=1e-6)
    assert cache.known(3) == pytest.approx({0: full.accs[0], 2: full.accs[2]}, abs=1e-6)
