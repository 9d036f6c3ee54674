"""The report's tables: each DD setting on its own row beside its published figure, sets pooled per cell as
the papers pool runs, and folders without a set left out rather than failing a glob."""
import json
from dataclasses import replace

import pytest

from datadistill import distill, random_real
from datadistill.errors import ArtifactError
from datadistill.evaluate import EvalResult
from datadistill.methods import method_label
from datadistill.published import published
from datadistill.report import report_blocks, to_html


def _tables(blocks):
    return {tuple(b[1]): b[2] for b in blocks if b[0] == "table"}


def _dd_set(digits, init, accs, steps=10, epochs=3):
    syn = random_real(digits, 10, seed=0)
    syn.info = replace(syn.info, name="mnist")  # the DD paper's dataset, so published figures apply
    syn.method = "dd"
    syn.schedule = {"kind": "dd", "steps": steps, "epochs": epochs, "init": init, "objective": "standard"}
    syn.evaluations = [{"protocol": "dd2018", "model": "lenet", "accs": accs, "seed": 0}]
    return syn


def test_dd_label_names_init_and_schedule():
    assert method_label("dd", {}, {"init": "fixed", "steps": 10, "epochs": 3}) == "dd (fixed init, 10 steps x 3 epochs)"
    assert method_label("dd", {}, {"init": "random_pretrained", "steps": 1, "epochs": 1, "objective": "poison",
                                   "poison_source": 3, "poison_target": 8}) == \
        "dd (random pretrained init, poison 3->8, 1 step x 1 epoch)"
    assert method_label("dc", {"init": "real"}, {}) == "dc"  # DC's rows do not depend on its init
    assert method_label("dc", {"distance": "mse"}, {}) == "dc (mse distance)"  # Table T4's rows do
    assert method_label("dsa", {"distance": "ours", "init": "real"}, {}) == "dsa"
    assert method_label("herding") == "herding"  # not a method: a coreset selection keeps its name
    assert published("dd (random init, 10 steps x 3 epochs)", "mnist", 10) == "79.5 +- 8.1"
    assert published("dd (fixed init, 1 step x 3 epochs)", "mnist", 1) == "93.8"
    assert published("dd (fixed init, 1 step x 3 epochs)", "mnist", 10) is None
    assert published("dd (random init, 5 steps x 3 epochs)", "mnist", 10) is None


def test_method_table_splits_dd_settings_and_pools_sets(tmp_path, digits):
    paths = []
    for i, (init, accs) in enumerate([("fixed", [96.0]), ("random", [70.0, 80.0]), ("random", [90.0, 100.0])]):
        paths.append(_dd_set(digits, init, accs).save(tmp_path / f"s{i}.safetensors"))
    tables = _tables(report_blocks(paths))
    rows = {r[0]: r[1] for r in tables[("method", "IPC 10")]}
    assert rows["dd (fixed init, 10 steps x 3 epochs)"] == "96.00 (96.6)"  # one network: no std
    # both random-init sets pooled: mean 85 over the four networks, std of [70, 80, 90, 100]
    assert rows["dd (random init, 10 steps x 3 epochs)"] == "85.00 +- 11.18 over 2 sets (79.5 +- 8.1) ✓"
    summary = tables[("set", "method", "dataset", "IPC", "accuracy %", "protocol", "published", "iterations",
                      "distill s", "seed", "version")]
    assert [r[4] for r in summary] == ["96.00 (n=1)", "75.00 +- 5.00 (n=2)", "95.00 +- 5.00 (n=2)"]


def test_folders_without_a_set_are_left_out_not_fatal(tmp_path, digits):
    good = random_real(digits, 1, seed=0).save(tmp_path / "run" / "synthetic.safetensors").parent
    (tmp_path / "cache").mkdir()
    blocks = report_blocks([good, tmp_path / "cache"])
    assert ("p", "Left out, holding no distilled set or application results: cache.") in blocks
    assert [r[0] for r in _tables(blocks)[next(k for k in _tables(blocks) if k[0] == "set")]] == ["run"]
    with pytest.raises(ArtifactError, match="no distilled set"):
        report_blocks([tmp_path / "cache"])
    (tmp_path / "other").mkdir()
    with pytest.raises(ArtifactError, match="none of the 2 paths"):
        report_blocks([tmp_path / "cache", tmp_path / "other"])


def test_crossarch_matrix_carries_the_papers_row(tmp_path, digits):
    syn = random_real(digits, 1, seed=0)
    syn.info = replace(syn.info, name="mnist")
    syn.method = "dc"
    syn.config = {"model": "convnet"}
    syn.evaluations = [{"protocol": "dc2021-aug", "model": m, "accs": [a], "seed": 0}
                       for m, a in (("convnet", 92.0), ("mlp", 70.0))]
    own = random_real(digits, 1, seed=1)  # trained only on its own network: no row of the matrix
    own.evaluations = [{"protocol": "quick", "model": "convnet", "accs": [50.0], "seed": 0}]
    tables = _tables(report_blocks([syn.save(tmp_path / "dc.safetensors"), own.save(tmp_path / "own.safetensors")]))
    rows = tables[("set", "convnet", "mlp")]
    assert rows == [["dc (made with convnet)", "92.00", "70.00"],
                    ["published: dc on mnist, IPC 1, made with convnet (DC paper, Figure 3)", "91.7", "69.6"]]


def test_ablation_tables_put_each_set_in_the_row_of_the_network_it_was_condensed_with(tmp_path, digits):
    def dc_set(model, accs, seed):
        syn = random_real(digits, 1, seed=seed)
        syn.info = replace(syn.info, name="mnist")  # the DC paper's ablations: MNIST, IPC 1
        syn.method = "dc"
        syn.config = {"model": model, "model_kw": {}}
        syn.evaluations = [{"protocol": "dc2021-aug", "model": m, "accs": [a], "seed": 0} for m, a in accs]
        return syn.save(tmp_path / f"s{seed}.safetensors")

    default = dc_set("convnet", [("convnet", 92.0), ("convnet:depth=1", 79.0), ("mlp", 70.0)], 0)
    shallow = dc_set("convnet:depth=1", [("convnet:depth=1", 61.0), ("convnet:depth=3", 77.0)], 1)
    blocks = report_blocks([default, shallow])
    tables = _tables(blocks)
    depth_table = ("set (depth)", "convnet:depth=1", "convnet:depth=2", "convnet", "convnet:depth=4")
    rows = tables[depth_table]
    # rows in the paper's order of the condensing networks (depth 1 above depth 3), whatever the order of the paths
    assert rows == [["s1 (condensed with convnet:depth=1)", "61.00 (61.3 +- 3.5) ✓", "- (78.2 +- 3.0)",
                     "77.00 (77.1 +- 4.0) ✓", "- (76.4 +- 3.5)"],
                    ["s0 (condensed with convnet)", "79.00 (81.6 +- 1.5)", "- (89.8 +- 0.8)", "92.00 (91.7 +- 0.5) ✓",
                     "- (90.4 +- 0.6)"]]
    assert _tables(report_blocks([shallow, default]))[depth_table] == rows
    # only the depth table: neither set was trained on another factor's variant
    assert [head[0] for head in tables if head[0].startswith("set (")] == ["set (depth)"]
    # the cross-architecture matrix leaves ConvNet variants to those tables
    assert tables[("set", "convnet", "mlp")][0] == ["s0 (made with convnet)", "92.00", "70.00"]
    # a set condensed with a variant is its own method, never pooled with the paper's DC row
    methods = {r[0]: r[1] for r in tables[("method", "IPC 1")]}
    assert methods == {"dc": "92.00 (91.7 +- 0.5) ✓", "dc (made with convnet:depth=1)": "77.00 (-)"}


def test_ablation_tables_pool_the_sets_condensed_with_one_network_in_a_row_after_theirs(tmp_path, digits):
    def dc_set(name, model, accs, method="dc"):
        syn = random_real(digits, 1, seed=0)
        syn.info = replace(syn.info, name="mnist")
        syn.method = method
        syn.config = {"model": model, "model_kw": {}}
        syn.evaluations = [{"protocol": "dc2021-aug", "model": m, "accs": a, "seed": 0} for m, a in accs]
        return syn.save(tmp_path / f"{name}.safetensors")

    a = dc_set("a", "convnet:depth=2", [("convnet:depth=2", [88.0, 90.0]), ("convnet:depth=1", [73.0, 75.0])])
    b = dc_set("b", "convnet:depth=2", [("convnet:depth=2", [89.0, 91.0]), ("convnet:depth=1", [79.0, 81.0]),
                                        ("convnet", [92.0])])
    dm = dc_set("m", "convnet:depth=2", [("convnet:depth=2", [80.0]), ("convnet:depth=1", [70.0])], method="dm")
    rows = _tables(report_blocks([a, dm, b]))[("set (depth)", "convnet:depth=1", "convnet:depth=2", "convnet",
                                               "convnet:depth=4")]
    assert [r[0] for r in rows] == ["a (condensed with convnet:depth=2)", "b (condensed with convnet:depth=2)",
                                    "pooled: 2 sets above (condensed with convnet:depth=2)",
                                    "m (condensed with convnet:depth=2)"]  # another method: never pooled with DC
    # each set alone: depth 1 under the paper's std (78.3 +- 2.3) on one, above on the other; pooled, 77.0 within
    assert rows[0][1] == "74.00 +- 1.00 (78.3 +- 2.3)" and rows[1][1] == "80.00 +- 1.00 (78.3 +- 2.3) ✓"
    assert rows[2][1:] == ["77.00 +- 3.16 over 2 sets (78.3 +- 2.3) ✓", "89.50 +- 1.12 over 2 sets (89.0 +- 0.8) ✓",
                           "92.00 (91.0 +- 0.6)", "- (89.4 +- 0.8)"]  # a cell only one set has keeps its figure
    assert rows[3][1:] == ["70.00", "80.00", "-", "-"]  # no published figures for DM


def test_ablation_tables_close_with_the_cells_within_the_papers_std_per_seed(tmp_path, digits):
    def dc_set(name, model, accs, seed):
        syn = random_real(digits, 1, seed=seed)
        syn.info = replace(syn.info, name="mnist")
        syn.method, syn.seed = "dc", seed
        syn.config = {"model": model, "model_kw": {}}
        syn.evaluations = [{"protocol": "dc2021-aug", "model": m, "accs": [a], "seed": 0} for m, a in accs]
        return syn.save(tmp_path / f"{name}.safetensors")

    # the default set: its convnet cell (within) is in the depth and activation tables but counts once; depth 1
    # misses 81.6 +- 1.5, sigmoid is within 86.1 +- 0.9
    default = dc_set("d", "convnet", [("convnet", 92.0), ("convnet:depth=1", 79.0), ("convnet:act=sigmoid", 86.0)], 0)
    shallow0 = dc_set("s0", "convnet:depth=1", [("convnet:depth=1", 61.0), ("convnet", 70.0)], 0)  # 77.1 +- 4.0
    shallow1 = dc_set("s1", "convnet:depth=1", [("convnet:depth=1", 61.0), ("convnet", 77.0)], 1)
    paragraphs = [b[1] for b in report_blocks([default, shallow0, shallow1]) if b[0] == "p"]
    # the pooled row of the two depth-1 sets is counted apart: convnet 73.5 within, where seed 0's 70.0 misses
    assert ("Cells within the paper's std (each set's own row, a network it was trained on counted once): seed 0, "
            "condensed with the default ConvNet: 2 of 3; seed 0, condensed with a variant: 1 of 2; seed 1, condensed "
            "with a variant: 2 of 2; pooled rows (the sets condensed with one network, all seeds together): "
            "2 of 2.") in paragraphs


def test_a_run_stopped_by_its_time_budget_says_so(tmp_path, digits):
    syn = _dd_set(digits, "random", [80.0, 82.0])
    syn.config = {"completed_iterations": 5, "distill_s": 12.3, "budget_hit": True}
    tables = _tables(report_blocks([syn.save(tmp_path / "b.safetensors")]))
    summary = next(rows for head, rows in tables.items() if head[0] == "set")
    assert summary[0][7:9] == ["5 (time budget)", "12"]
    assert tables[("method", "IPC 10")][0][1] == "81.00 +- 1.00 (79.5 +- 8.1) ✓ †"


def test_a_resumed_run_names_the_command_that_continued_it(tmp_path, digits):
    out = tmp_path / "r"
    distill(digits, "dc", ipc=1, iterations=3, out=out, budget_s=1e-9, final_eval_models=1, protocol="quick")
    distill(digits, "dc", ipc=1, iterations=3, out=out, resume=True, final_eval_models=1, protocol="quick")
    made = [b[1] for b in report_blocks([out]) if b[0] == "p" and b[1].startswith("Made by")]
    assert len(made) == 1 and "resumed after iteration 1 by `" in made[0] and "3 iterations" in made[0]


def test_coreset_variants_get_their_own_rows_beside_the_plain_selections_figure(tmp_path, digits):
    paths = []
    for i, (options, accs) in enumerate([({}, [30.0, 34.0]), ({"never_learned": "first"}, [20.0]), ({}, [38.0])]):
        syn = random_real(digits, 1, seed=i)
        syn.info = replace(syn.info, name="mnist")  # the DC paper's dataset, so its figures apply
        syn.method = "forgetting"
        syn.config = {"baseline": "forgetting", "options": options, "environment": {"command": "datadistill baseline"},
                      "features": {"model": "convnet", "seed": i, "epochs": 5, "augment": "none", "recipe": "ab"}}
        syn.evaluations = [{"protocol": "dc2021-aug", "model": "convnet", "accs": accs, "seed": 0}]
        paths.append(syn.save(tmp_path / f"f{i}.safetensors"))
    blocks = report_blocks(paths)
    rows = {r[0]: r[1] for r in _tables(blocks)[("method", "IPC 1")]}
    assert rows == {"forgetting (convnet 5-epoch features)": "34.00 +- 3.27 over 2 sets (35.5 +- 5.6) ✓",
                    "forgetting (never_learned=first; convnet 5-epoch features)": "20.00 (35.5 +- 5.6)"}
    made = [b[1] for b in blocks if b[0] == "p" and b[1].startswith("Made by")]
    assert made[0].startswith("Made by `datadistill baseline`, seed 0")
    prov = [json.loads(b[1]) for b in blocks if b[0] == "pre"]
    assert prov[1]["options"] == {"never_learned": "first"} and prov[1]["features"]["epochs"] == 5


def test_html_page_keeps_pictures_together_and_provenance_one_click_away(tmp_path, digits):
    syn = random_real(digits, 1, seed=3)
    syn.config = {"completed_iterations": 7, "distill_s": 90.0, "budget_hit": True}
    page = to_html(report_blocks([syn.save(tmp_path / "r.safetensors")]))
    assert "<div class='figs'><figure><img" in page and page.count("data:image/png;base64,") == 1
    assert "<details><summary>provenance</summary><pre>" in page
    assert ("Made by command not recorded, seed 3, datadistill " in page
            and "7 iterations, 1.5 min of distillation (stopped by its time budget)." in page)


def test_a_whole_data_cache_folder_gives_the_upper_bound_table(tmp_path, digits):
    from datadistill.baselines import WHOLE_CACHE, whole_dataset
    from datadistill.evaluate import EvalSpec, get_protocol

    cache = tmp_path / "cache"
    proto = get_protocol("quick", epochs=2, precision="fp32")
    first = whole_dataset(digits, EvalSpec("mlp", proto, runs=2, seed=0), cache_dir=cache)
    other = whole_dataset(digits, EvalSpec("mlp", proto, runs=1, seed=1), cache_dir=cache)
    with (cache / WHOLE_CACHE).open("a") as f:  # a ConvNet bound of MNIST, which the papers publish
        key = {"dataset": "mnist", "n_train": 60000, "n_test": 10000, "model": "convnet", "model_kw": {},
               "protocol": {"name": "whole", "epochs": 20}, "seed": 0}
        f.write(json.dumps({"key": key, "model_index": 0, "acc": 99.5}) + "\n")
    run = random_real(digits, 1, seed=0).save(tmp_path / "run" / "synthetic.safetensors").parent
    blocks = report_blocks([run, cache])
    rows = _tables(blocks)[("dataset", "model", "epochs", "accuracy %", "published")]
    pooled = EvalResult("quick", "mlp", first.accs + other.accs, 0)  # both seeds' networks in one cell
    assert rows == [["digits", "mlp", "2", f"{pooled.mean:.2f} +- {pooled.std:.2f} (n=3)", "-"],
                    ["mnist", "convnet", "20", "99.50 (n=1)", "99.6 +- 0.0"]]
    assert not any(b[0] == "p" and b[1].startswith("Left out") for b in blocks)  # a cache it reads is not left out
