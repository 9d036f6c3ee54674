"""Run folders: config, metrics, checkpoints; resume gives exactly the uninterrupted result."""
import importlib
import json

import pytest
import torch

from datadistill import distill, load
from datadistill.errors import ConfigError


class StopAt(Exception):
    pass


@pytest.fixture(scope="module")
def full(digits, tmp_path_factory):
    """The uninterrupted run both resume tests compare with (its checkpoints every 2 iterations change nothing
    in the result: the Ctrl-C test's run checkpoints only when stopped)."""
    return distill(digits, "dsa", ipc=2, iterations=6, seed=3, out=tmp_path_factory.mktemp("full"),
                   checkpoint_every=2, outer_loop=2, inner_loop=2)


def test_resume_equals_uninterrupted(tmp_path, digits, full):
    def interrupt(event):
        if event["event"] == "step" and event["iteration"] == 4:
            raise StopAt()  # dies during iteration 5, after the checkpoint at 4 completed iterations

    with pytest.raises(StopAt):
        distill(digits, "dsa", ipc=2, iterations=6, seed=3, out=tmp_path / "cut", checkpoint_every=2,
                outer_loop=2, inner_loop=2, callback=interrupt)
    resumed = distill(digits, "dsa", ipc=2, iterations=6, seed=3, out=tmp_path / "cut", checkpoint_every=2,
                      outer_loop=2, inner_loop=2, resume=True)
    assert torch.equal(full.images, resumed.images)
    lines = [json.loads(x) for x in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in lines] == list(range(6))
    assert torch.equal(load(tmp_path / "cut").images, full.images)


def test_ctrl_c_keeps_every_finished_iteration_and_resumes_exactly(tmp_path, digits, full):
    kw = dict(ipc=2, iterations=6, seed=3, checkpoint_every=100, outer_loop=2, inner_loop=2)

    def ctrl_c(event):
        if event["event"] == "step" and event["iteration"] == 3:
            raise KeyboardInterrupt  # after 4 finished iterations, long before the next regular checkpoint

    with pytest.raises(KeyboardInterrupt):
        distill(digits, "dsa", out=tmp_path / "cut", callback=ctrl_c, **kw)
    started = []
    resumed = distill(digits, "dsa", out=tmp_path / "cut", resume=True, **kw,
                      callback=lambda e: started.append(e["start"]) if e["event"] == "start" else None)
    assert started == [4]
    assert torch.equal(full.images, resumed.images)


def test_an_evaluation_stopped_part_way_resumes_model_by_model(tmp_path, digits, monkeypatch):
    train_mod = importlib.import_module("datadistill.evaluate.train")  # the package name is also a function
    kw = dict(ipc=1, iterations=2, seed=0, final_eval_models=3, protocol="quick")
    real, trained = train_mod.train_network, []

    def stops_at_the_second_model(*a, **k):
        trained.append(1)
        if len(trained) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(train_mod, "train_network", stops_at_the_second_model)
    with pytest.raises(KeyboardInterrupt):
        distill(digits, "dc", out=tmp_path / "r", **kw)
    assert len((tmp_path / "r" / "eval_models.jsonl").read_text().splitlines()) == 1
    trained.clear()
    monkeypatch.setattr(train_mod, "train_network", lambda *a, **k: trained.append(1) or real(*a, **k))
    resumed = distill(digits, "dc", out=tmp_path / "r", resume=True, **kw)
    assert len(trained) == 2  # models 2 and 3; the first one's accuracy came from the run folder
    whole = distill(digits, "dc", **kw)  # no folder, nothing stopped
    assert resumed.evaluations[-1]["accs"] == pytest.approx(whole.evaluations[-1]["accs"], abs=1e-6)


def test_run_folder_contents_and_refusals(tmp_path, digits):
    out = tmp_path / "r"
    distill(digits, "dc", ipc=1, iterations=2, out=out, eval_every=1, eval_models=1, protocol="quick")
    assert {p.name for p in out.iterdir()} >= {"config.json", "metrics.jsonl", "checkpoint.safetensors",
                                                "synthetic.safetensors", "grid.png"}
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["run"]["method"] == "dc" and cfg["run"]["iterations"] == 2 and "torch" in cfg["environment"]
    evals = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if "eval" in x]
    assert len(evals) == 1 and evals[0]["eval"]["n"] == 1
    with pytest.raises(ConfigError, match="already exists"):
        distill(digits, "dc", ipc=1, iterations=2, out=out)
    with pytest.raises(ConfigError, match=r"settings differ \(seed\)"):
        distill(digits, "dc", ipc=1, iterations=2, out=out, seed=9, resume=True, eval_every=1, eval_models=1,
                protocol="quick")
    # a folder written before a setting existed resumes as if it had had the setting's default
    del cfg["run"]["feature_epochs"], cfg["run"]["cache_dir"]
    (out / "config.json").write_text(json.dumps(cfg))
    again = distill(digits, "dc", ipc=1, iterations=2, out=out, resume=True, eval_every=1, eval_models=1,
                    protocol="quick")
    assert again.config["completed_iterations"] == 2
    for bad, what in ((dict(iterations=-1), "iterations -1 is below 0"),
                      (dict(eval_every=2, eval_models=0), "eval models 0 is below 1"),
                      (dict(final_eval_models=-2), "final eval models -2 is below 0"),
                      (dict(ipc="10"), "ipc='10' of RunConfig must be a whole number")):
        with pytest.raises(ConfigError, match=what):
            distill(digits, "dc", out=tmp_path / "bad", **{"ipc": 1, **bad})
    assert not (tmp_path / "bad").exists()  # refused before anything is written


def test_budget_stops_saves_a_loadable_set_and_carries_over_resumes(tmp_path, digits):
    out = tmp_path / "b"
    first = distill(digits, "dc", ipc=1, iterations=10_000, out=out, budget_s=1e-9, final_eval_models=1,
                    protocol="quick")
    assert first.config["completed_iterations"] == 1 and first.config["budget_hit"]
    assert len(first.evaluations) == 1 and load(out).images.shape == (10, 1, 8, 8)
    spent = first.config["distill_s"]
    # same budget again: already spent, nothing more runs; a larger one continues from iteration 1
    again = distill(digits, "dc", ipc=1, iterations=10_000, out=out, budget_s=1e-9, resume=True,
                    protocol="quick")
    assert again.config["completed_iterations"] == 1 and torch.equal(again.images, first.images)
    more = distill(digits, "dc", ipc=1, iterations=10_000, out=out, budget_s=spent * 2.5, resume=True,
                   protocol="quick")
    assert more.config["completed_iterations"] >= 2 and more.config["distill_s"] >= spent * 2.5 - 1e-6
    steps = [json.loads(x)["iteration"] for x in (out / "metrics.jsonl").read_text().splitlines()
             if "s_per_iter" in x]
    assert steps == list(range(more.config["completed_iterations"]))
    env = json.loads((out / "config.json").read_text())["environment"]
    assert [r["from_iteration"] for r in env["resumed"]] == [1, 1]  # each resume recorded, where it started
    assert all(r["command"] and r["torch"] == torch.__version__ for r in env["resumed"])


def test_select_on_validation_never_on_test(tmp_path, digits):
    out = tmp_path / "v"
    syn = distill(digits, "dm", ipc=1, iterations=6, out=out, eval_every=2, eval_models=1, select="val",
                  final_eval_models=1, protocol="quick")
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    val = [r for r in records if r.get("split") == "val"]
    test = [r for r in records if "eval" in r and "split" not in r]
    assert [r["iteration"] for r in val] == [1, 3, 5] and len(test) == 1  # test only for the final result
    best = max(val, key=lambda r: (r["eval"]["mean"], -r["iteration"]))
    assert syn.config["selected_iteration"] == best["iteration"] + 1
    assert syn.config["selected_val_acc"] == best["eval"]["mean"]
    assert val[0]["eval"]["seed"] != test[0]["eval"]["seed"]  # selection and test train different networks
    assert torch.equal(load(out).images, syn.images)
    # rerunning the finished run evaluates nothing again: the logged validation and test results are reused
    before = (out / "metrics.jsonl").read_text()
    again = distill(digits, "dm", ipc=1, iterations=6, out=out, eval_every=2, eval_models=1, select="val",
                    final_eval_models=1, protocol="quick", resume=True)
    assert (out / "metrics.jsonl").read_text() == before
    assert again.evaluations == syn.evaluations and torch.equal(again.images, syn.images)
    with pytest.raises(ConfigError, match="eval_every"):
        distill(digits, "dm", ipc=1, iterations=2, select="val")


def test_validation_split_is_stratified_and_disjoint(digits):
    from datadistill.seeding import make_generator

    rest, val = digits.train.split_validation(0.2, make_generator(0, "val"))
    assert len(rest) + len(val) == len(digits.train)
    for c, n in enumerate(digits.train.class_counts()):
        assert val.class_counts()[c] == round(0.2 * n)
    both = torch.cat([rest.images, val.images]).reshape(len(digits.train), -1)
    assert torch.unique(both, dim=0).shape[0] == torch.unique(digits.train.images.reshape(len(digits.train), -1),
                                                              dim=0).shape[0]


def test_coreset_init_starts_from_the_selection_and_caches_its_feature_network(tmp_path, digits):
    from dataclasses import replace

    from datadistill.baselines import WHOLE
    from datadistill.coresets import SelectionSource, select

    cache = tmp_path / "cache"
    syn = distill(digits, "dm", ipc=2, iterations=0, init="herding", feature_epochs=2, cache_dir=str(cache))
    assert len(list(cache.glob("*.safetensors"))) == 1  # the feature network, kept for the next run
    # herding is deterministic given the features: the same selection made directly, from the cached network
    source = SelectionSource(digits, seed=0, cache_dir=cache, recipe=replace(WHOLE, epochs=2))
    idx = select("herding", source, 2, seed=0).reshape(-1)
    assert torch.equal(syn.images, digits.train.images[idx]) and torch.equal(syn.labels, digits.train.labels[idx])
    assert torch.equal(syn.labels, torch.arange(10).repeat_interleave(2))
    with pytest.raises(ConfigError, match="coreset selection .*herding.*got 'bogus'"):
        distill(digits, "dm", ipc=1, iterations=0, init="bogus")
