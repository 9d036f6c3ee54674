"""The CLI end to end on the embedded digits: thin commands, one-line errors, run folders."""
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from datadistill.cli.main import app, parse_budget, parse_options

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from data_fakes import write_idx_set  # noqa: E402

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_list_shows_registries():
    res = invoke("list")
    assert res.exit_code == 0
    for name in ("dc", "dsa", "digits", "mnist", "convnet", "resnet18", "dc2021"):
        assert name in res.output
    assert "convnet:depth=4" in res.output  # how a model name takes options


@pytest.mark.parametrize("native", ["0", "1"])
def test_list_says_what_bf16_computes_in_here(monkeypatch, native):
    from datadistill.runtime import CPU_BF16_ENV

    monkeypatch.setenv(CPU_BF16_ENV, native)
    res = invoke("list")
    assert res.exit_code == 0
    assert ("bf16 (native)" in res.output) is (native == "1")
    assert ("float32 (no native bf16)" in res.output) is (native == "0")


def test_distill_evaluate_show_baseline(tmp_path):
    out = tmp_path / "run"
    res = invoke("distill", "--method", "dc", "--dataset", "digits", "--ipc", "1", "--iterations", "3",
                 "--final-eval", "1", "--protocol", "quick", "--out", str(out), "--opt", "lr_img=0.2")
    assert res.exit_code == 0, res.output
    assert "random real ipc 1" in res.output and "dc ipc 1" in res.output
    cfg = json.loads((out / "config.json").read_text())["run"]
    assert cfg["method_kw"] == {"lr_img": 0.2} and cfg["iterations"] == 3
    res = invoke("evaluate", str(out), "--model", "mlp", "--runs", "2", "--protocol", "quick")
    assert res.exit_code == 0 and "mlp" in res.output
    from datadistill import load

    assert [e["model"] for e in load(out).evaluations] == ["convnet", "mlp"]  # kept with the artifact
    again = invoke("evaluate", str(out), "--model", "mlp", "--runs", "2", "--protocol", "quick")  # nothing to train
    assert again.exit_code == 0 and "2 of 2 models from an earlier evaluation" in again.output
    assert load(out).evaluations[-1]["accs"] == load(out).evaluations[-2]["accs"]
    res = invoke("evaluate", str(out), "--model", "mlp", "--runs", "2", "--protocol", "quick", "--batched",
                 "--no-resume")
    assert res.exit_code == 0, res.output
    assert [e["config"]["batched"] for e in load(out).evaluations] == [False, False, False, True]
    whole = ("baseline", "whole", "--epochs", "3", "--model", "mlp", "--data-root", str(tmp_path / "data"))
    res = invoke(*whole)
    assert res.exit_code == 0 and "whole digits" in res.output
    assert (tmp_path / "data" / "digits" / "cache" / "whole.jsonl").exists()
    again = invoke(*whole)  # the accuracy comes from the cache, not a new training
    assert again.exit_code == 0 and "1 of 1 models from the cache" in again.output
    assert again.output.splitlines()[-1] == res.output.splitlines()[-1]
    res = invoke("show", str(out), "--out", str(tmp_path / "g.png"), "--folder", str(tmp_path / "imgs"))
    assert res.exit_code == 0 and (tmp_path / "g.png").exists() and len(list((tmp_path / "imgs").rglob("*.png"))) == 10
    res = invoke("baseline", "random", "--ipc", "2", "--out", str(tmp_path / "r.safetensors"))
    assert res.exit_code == 0 and (tmp_path / "r.safetensors").exists()
    res = invoke("baseline", "random", "--ipc", "2", "--out", str(tmp_path / "rfolder"))  # a run folder, as distill's
    assert res.exit_code == 0 and (tmp_path / "rfolder" / "synthetic.safetensors").exists()
    res = invoke("show", str(tmp_path / "rfolder"), "--out", str(tmp_path / "rg.png"))
    assert res.exit_code == 0 and (tmp_path / "rg.png").exists()


def test_bad_input_gives_one_line_errors(tmp_path):
    cases = [
        ("distill", "--dataset", "nosuch", "--out", str(tmp_path / "a")),
        ("distill", "--dataset", "mnist", "--data-root", str(tmp_path), "--out", str(tmp_path / "b")),
        ("distill", "--model", "nosuchnet", "--iterations", "1", "--out", str(tmp_path / "c")),
        ("distill", "--ipc", "100000", "--out", str(tmp_path / "d")),
        ("evaluate", str(tmp_path / "missing")),
        ("distill", "--budget", "soon", "--out", str(tmp_path / "e")),
        ("baseline", "forgetting", "--feature-augment", "blur", "--out", str(tmp_path / "f.safetensors")),
        ("baseline", "kcenter", "--feature-recipe", "nosuch", "--out", str(tmp_path / "g.safetensors")),
        ("distill", "--opt", "lr_img=fast", "--out", str(tmp_path / "h")),
        ("distill", "--iterations", "-1", "--out", str(tmp_path / "i")),
        ("nas", "--dataset", "digits", "--proxy", "runs/x", "--out", str(tmp_path / "j")),
        ("distill", "--model", "convnet:depth=deep", "--iterations", "1", "--out", str(tmp_path / "k")),
    ]
    for args in cases:
        res = invoke(*args)
        assert res.exit_code == 2, (args, res.output)
        lines = res.output.rstrip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), res.output


def test_parsers():
    assert parse_budget("1h30m") == 5400 and parse_budget("90s") == 90 and parse_budget("10m") == 600
    assert parse_options(["init=real", "lr_img=0.5", "dsa=true"]) == {"init": "real", "lr_img": 0.5, "dsa": True}


def test_experts_then_mtt_with_resume_and_zca(tmp_path):
    buf = tmp_path / "buf"
    res = invoke("experts", "--out", str(buf), "--num", "1", "--epochs", "3", "--zca", "0.1")
    assert res.exit_code == 0, res.output
    assert "1 experts x 3 epochs" in res.output and "MB per expert" in res.output
    res = invoke("experts", "--out", str(buf), "--num", "2", "--epochs", "3", "--zca", "0.1")  # adds one
    assert res.exit_code == 0 and "2 experts" in res.output
    out = tmp_path / "mtt"
    args = ("distill", "--method", "mtt", "--experts", str(buf), "--zca", "0.1", "--iterations", "4",
            "--final-eval", "1", "--protocol", "quick", "--out", str(out), "--opt", "syn_steps=3",
            "--opt", "max_start_epoch=1")
    res = invoke(*args[:-4], "--budget", "0.000001s", *args[-4:])
    assert res.exit_code == 0, res.output
    res = invoke(*args, "--resume")
    assert res.exit_code == 0 and "mtt ipc 1" in res.output and "random real ipc 1" in res.output
    from datadistill import load

    syn = load(out)
    assert syn.config["completed_iterations"] == 4 and syn.lrs.numel() == 1 and syn.zca
    res = invoke("distill", "--method", "mtt", "--experts", str(buf), "--iterations", "1",
                 "--out", str(tmp_path / "nozca"))
    assert res.exit_code == 2 and "trained with --zca 0.1" in res.output


def test_ablation_networks_are_model_specs_on_both_sides(tmp_path):
    out = tmp_path / "bn"
    res = invoke("distill", "--method", "dc", "--model", "convnet:width=16:norm=batchnorm", "--iterations", "2",
                 "--final-eval", "1", "--protocol", "quick", "--out", str(out), "--no-compare-random")
    assert res.exit_code == 0, res.output
    res = invoke("evaluate", str(out), "--model", "convnet:depth=1:act=sigmoid:pooling=maxpooling", "--runs", "1",
                 "--protocol", "quick")
    assert res.exit_code == 0, res.output
    from datadistill import load

    syn = load(out)
    assert syn.config["model"] == "convnet:width=16:norm=batchnorm"
    assert [e["model"] for e in syn.evaluations] == ["convnet:width=16:norm=batchnorm",
                                                     "convnet:depth=1:act=sigmoid:pooling=maxpooling"]


def test_dm_from_the_cli(tmp_path):
    res = invoke("distill", "--method", "dm", "--iterations", "3", "--final-eval", "1", "--protocol", "quick",
                 "--out", str(tmp_path / "dm"))
    assert res.exit_code == 0 and "dm ipc 1" in res.output


def test_a_baseline_with_its_own_feature_recipe(tmp_path):
    from datadistill import load

    args = ("baseline", "forgetting", "--ipc", "2", "--data-root", str(tmp_path), "--feature-epochs", "2")
    res = invoke(*args, "--out", str(tmp_path / "plain.safetensors"))
    assert res.exit_code == 0, res.output
    res = invoke(*args, "--feature-augment", "dc", "--out", str(tmp_path / "dc.safetensors"))
    assert res.exit_code == 0, res.output
    cached = sorted(p.name for p in (tmp_path / "digits" / "cache").glob("digits_convnet_s0_*.safetensors"))
    assert len(cached) == 2  # two recipes (2 epochs, with and without augmentation), two cached networks
    configs = [load(tmp_path / f"{n}.safetensors").config for n in ("plain", "dc")]
    assert configs[0]["indices"] != configs[1]["indices"]  # counts from augmented training rank other images first
    # each set names the network it was selected with and the command that made it (the report's provenance)
    assert [(c["features"]["epochs"], c["features"]["augment"]) for c in configs] == [(2, "none"), (2, "dc")]
    assert {"command", "datadistill", "torch"} <= set(configs[1]["environment"])  # sys.argv: pytest's here


def test_coreset_baselines_and_crossarch_with_cache(tmp_path):
    herding = ("baseline", "herding", "--ipc", "2", "--out", str(tmp_path / "h.safetensors"), "--runs", "1",
               "--protocol", "quick")
    res = invoke(*herding)
    assert res.exit_code == 0, res.output
    assert "herding ipc 2" in res.output
    again = invoke(*herding)  # the same picks: the network's accuracy comes from h.models.jsonl, not a new training
    assert again.exit_code == 0 and "1 of 1 models from an earlier evaluation" in again.output
    assert again.output.splitlines()[-1] == res.output.splitlines()[-1]
    res = invoke("baseline", "random", "--ipc", "2", "--out", str(tmp_path / "r.safetensors"), "--protocol", "quick")
    assert res.exit_code == 0, res.output
    sets = [str(tmp_path / "h.safetensors"), str(tmp_path / "r.safetensors")]
    res = invoke("crossarch", *sets, "--models", "mlp,convnet", "--runs", "1")
    assert res.exit_code == 0, res.output
    assert "mlp" in res.output and "convnet" in res.output and res.output.count("+-") >= 4
    from datadistill import load

    before = [len(load(p).evaluations) for p in sets]
    assert before == [2, 2]  # herding: its --runs result (convnet) was reused, plus mlp
    res = invoke("crossarch", *sets, "--models", "mlp,convnet", "--runs", "1")
    assert res.exit_code == 0 and [len(load(p).evaluations) for p in sets] == before  # all cached


def test_report_builds_markdown_and_self_contained_html(tmp_path):
    run = tmp_path / "run"
    res = invoke("distill", "--method", "dm", "--iterations", "4", "--eval-every", "2", "--eval-models", "1",
                 "--final-eval", "1", "--protocol", "quick", "--out", str(run), "--no-compare-random")
    assert res.exit_code == 0, res.output
    invoke("baseline", "random", "--ipc", "1", "--out", str(tmp_path / "r.safetensors"), "--runs", "1",
           "--protocol", "quick")
    res = invoke("report", str(run), str(tmp_path / "r.safetensors"), "--out", str(tmp_path / "rep"))
    assert res.exit_code == 0, res.output
    page = (tmp_path / "rep" / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 3  # two grids and one curve, inline
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "methods x IPC" in md and "| dm |" in md and "Cross-architecture" not in md
    assert (tmp_path / "rep" / "img" / "run_grid.png").exists() and "run_curve.png" in md
    res = invoke("report", "--out", str(tmp_path / "none"))
    assert res.exit_code != 0


def test_continual_and_nas_commands(tmp_path):
    res = invoke("continual", "--tasks", "digits,digits", "--size", "8", "--epochs", "1", "--runs", "2",
                 "--memory", "2", "--out", str(tmp_path / "cl"))
    assert res.exit_code == 0, res.output
    assert len((tmp_path / "cl" / "runs.jsonl").read_text().splitlines()) == 2
    page = (tmp_path / "cl" / "results.md").read_text()
    assert "| after | test digits | test digits |" in page and (tmp_path / "cl" / "img" / "cl_stages.png").exists()
    assert (tmp_path / ".continual_memories").is_dir() is False  # herding memories are not cached
    invoke("baseline", "random", "--ipc", "2", "--out", str(tmp_path / "r.safetensors"))
    res = invoke("nas", "--dataset", "digits", "--proxy", f"random={tmp_path / 'r.safetensors'}", "--depths", "1,2",
                 "--widths", "16", "--acts", "relu", "--norms", "instancenorm,none", "--poolings", "avgpooling",
                 "--proxy-epochs", "5", "--full-epochs", "1", "--proxy-augment", "dsa", "--out", str(tmp_path / "nas"))
    assert res.exit_code == 0, res.output
    # the proxy set trains with DSA, the full data and early stopping without
    trained = {(r["proxy"], r.get("augment")) for r in map(json.loads, (tmp_path / "nas" / "search.jsonl").open())}
    assert trained == {("random", "dsa"), ("early-stopping", None), ("full", None)}
    assert "early-stopping" in res.output and (tmp_path / "nas" / "summary.json").exists()
    summary = json.loads((tmp_path / "nas" / "summary.json").read_text())
    assert set(summary) == {"random", "early-stopping", "full data"} and summary["full data"]["spearman_all"] == pytest.approx(1.0)
    assert 0 <= summary["random"]["chosen_full_test"] <= 100
    assert "nas_ranks.png" in (tmp_path / "nas" / "results.md").read_text()
    # both folders become sections of the report, beside a distilled set
    res = invoke("report", str(tmp_path / "cl"), str(tmp_path / "nas"), str(tmp_path / "r.safetensors"),
                 "--out", str(tmp_path / "rep"))
    assert res.exit_code == 0, res.output
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "Continual learning digits -&gt; digits" in page and "Architecture search on proxy sets" in page
    assert page.count("data:image/png;base64,") >= 3  # stages plot, rank plot, the set's grid


@pytest.mark.parametrize("dataset, protocol", [("mnist", "dc2021-aug"), ("digits", "dc2021")])
def test_a_baseline_defaults_to_the_dc_papers_protocol_for_its_data(tmp_path, dataset, protocol):
    write_idx_set(tmp_path / "mnist")  # a tiny MNIST-layout folder: the DC paper augments every MNIST experiment
    res = invoke("baseline", "random", "--dataset", dataset, "--data-root", str(tmp_path), "--out", str(tmp_path / "r"))
    assert res.exit_code == 0, res.output
    from datadistill import load

    assert load(tmp_path / "r").config["protocol"] == protocol  # what evaluate and crossarch then train with
