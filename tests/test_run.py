"""Run folders: config, metrics, checkpoints; resume gives exactly the uninterrupted result."""
import json

import pytest
import torch

from datadistill import distill, load
from datadistill.errors import ConfigError


class StopAt(Exception):
    pass


def test_resume_equals_uninterrupted(tmp_path, digits):
    full = distill(digits, "dsa", ipc=2, iterations=6, seed=3, out=tmp_path / "full", checkpoint_every=2,
                   outer_loop=2, inner_loop=2)

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
    with pytest.raises(ConfigError, match="settings differ"):
        distill(digits, "dc", ipc=1, iterations=2, out=out, seed=9, resume=True)


def test_budget_stops_and_saves_a_loadable_set(tmp_path, digits):
    syn = distill(digits, "dc", ipc=1, iterations=10_000, out=tmp_path / "b", budget_s=0.0)
    assert syn.config["completed_iterations"] == 1 and syn.config["budget_hit"]
    assert load(tmp_path / "b").images.shape == (10, 1, 8, 8)
