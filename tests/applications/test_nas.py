"""NAS on a proxy: Spearman as scipy computes it, and a tiny search that ranks and resumes."""
import json

import pytest
import scipy.stats
import torch

from datadistill import random_real
from datadistill.applications.nas import (
    Candidate,
    NASConfig,
    early_stopping_steps,
    load_log,
    run_search,
    search_space,
    spearman,
    summarize,
)
from datadistill.errors import ConfigError


@pytest.fixture
def searchable(digits):
    """The digits split as a search uses it: the training part (a DatasetSplits) and the validation part."""
    rest, val = digits.train.split_validation(0.2, torch.Generator().manual_seed(0))
    return type(digits)(digits.info, rest, digits.test), val


def test_search_space_is_the_papers_720():
    space = search_space()
    assert len(space) == 720 and len({c.name for c in space}) == 720


@pytest.mark.parametrize("a,b", [([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), ([3, 1, 2, 2, 9, 4], [1, 1, 2, 3, 5, 8]),
                                 ([0.5, 0.1, 0.9, 0.3], [0.2, 0.4, 0.1, 0.3])])
def test_spearman_equals_scipy(a, b):
    assert spearman(a, b) == pytest.approx(scipy.stats.spearmanr(a, b).statistic, abs=1e-12)


def test_tiny_search_ranks_resumes_and_summarizes(searchable, tmp_path):
    data, val = searchable
    cands = [Candidate(depth=d, width=w) for d in (1, 2) for w in (16, 32)] + [Candidate(depth=1, norm="none")]
    rand = random_real(data, 2, 0)
    cfg = NASConfig(proxy_epochs=20, full_epochs=1)
    log = tmp_path / "nas.jsonl"
    first = run_search(data, val, {"random": (rand.images, rand.labels), "early": None}, cands[:3], cfg, log)
    assert len(first["full"]) == 3
    res = run_search(data, val, {"random": (rand.images, rand.labels), "early": None}, cands, cfg, log)
    assert len(res["full"]) == 5 and len(res["random"]) == 5
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert len(lines) == 15  # nothing retrained on resume
    summary = summarize(log, top=3)
    for proxy in ("random", "early"):
        assert -1 <= summary[proxy]["spearman_top"] <= 1 and summary[proxy]["chosen"] in res["full"]


def test_early_stopping_gets_the_iterations_of_a_proxy():
    cfg = NASConfig(proxy_epochs=100, batch_size=256)
    ten_per_class = (torch.zeros(100, 1, 8, 8), torch.zeros(100, dtype=torch.long))
    fifty_per_class = (torch.zeros(500, 1, 8, 8), torch.zeros(500, dtype=torch.long))
    assert early_stopping_steps({"random": ten_per_class, "early": None}, cfg) == 100  # one batch per epoch
    assert early_stopping_steps({"random": fifty_per_class, "early": None}, cfg) == 200


def test_summary_correlates_the_proxys_own_top_and_the_full_datas_top(tmp_path):
    full = {"a": 90.0, "b": 80.0, "c": 70.0, "d": 60.0, "e": 50.0}
    proxy = {"a": 10.0, "b": 30.0, "c": 5.0, "d": 50.0, "e": 40.0}  # ranks d, e, b first
    log = tmp_path / "nas.jsonl"
    log.write_text("".join(json.dumps({"proxy": p, "candidate": n, "val_acc": v, "seconds": 1.0,
                                       **({"test_acc": v + 1} if p == "full" else {})}) + "\n"
                           for p, accs in (("full", full), ("random", proxy)) for n, v in accs.items()))
    s = summarize(log, top=3)["random"]
    own, best = ["d", "e", "b"], ["a", "b", "c"]
    assert s["spearman_proxy_top"] == pytest.approx(scipy.stats.spearmanr([proxy[n] for n in own],
                                                                          [full[n] for n in own]).statistic)
    assert s["spearman_top"] == pytest.approx(scipy.stats.spearmanr([proxy[n] for n in best],
                                                                    [full[n] for n in best]).statistic)
    assert s["spearman_proxy_top"] == pytest.approx(-0.5) and s["spearman_top"] == pytest.approx(0.5)
    assert s["chosen"] == "d" and s["chosen_full_test"] == 61.0 and s["seconds"] == 5.0


def test_more_trainings_extend_a_search_and_average(searchable, tmp_path):
    data, val = searchable
    cands = [Candidate(depth=1, width=16), Candidate(depth=1, width=16, norm="none")]
    rand = random_real(data, 2, 0)
    log = tmp_path / "nas.jsonl"
    one = run_search(data, val, {"random": (rand.images, rand.labels)}, cands, NASConfig(proxy_epochs=10, full_epochs=1), log)
    before = load_log(log, runs=1)
    two = run_search(data, val, {"random": (rand.images, rand.labels)}, cands,
                     NASConfig(proxy_epochs=10, full_epochs=1, runs=2), log)
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [r["run"] for r in lines] == [0] * 4 + [1] * 4  # the first training is kept, the second added
    second = {(r["proxy"], r["candidate"]): r for r in lines[4:]}
    assert any(second[p, c.name]["val_acc"] != one[p][c.name] for p in one for c in cands)  # other networks
    for p in one:
        for c in cands:
            assert two[p][c.name] == pytest.approx((one[p][c.name] + second[p, c.name]["val_acc"]) / 2)
    assert load_log(log, runs=1) == before  # the one-training view of the log is unchanged


def test_a_log_of_averaged_lines_is_refused(searchable, tmp_path):
    log = tmp_path / "nas.jsonl"
    log.write_text(json.dumps({"proxy": "full", "candidate": "d1-w16", "val_acc": 50.0, "runs": 2,
                               "seconds": 1.0}) + "\n")
    data, val = searchable
    with pytest.raises(ConfigError, match="older search"):
        run_search(data, val, {}, [Candidate(depth=1, width=16)],
                   NASConfig(runs=2), log)


def test_resuming_with_other_epochs_is_refused(searchable, tmp_path):
    data, val = searchable
    log = tmp_path / "nas.jsonl"
    cands = [Candidate(depth=1, width=16)]
    run_search(data, val, {}, cands, NASConfig(full_epochs=1), log)
    assert json.loads(log.read_text().splitlines()[0])["epochs"] == 1
    with pytest.raises(ConfigError, match="another results folder"):
        run_search(data, val, {}, cands, NASConfig(full_epochs=2, runs=2), log)
    run_search(data, val, {}, cands, NASConfig(full_epochs=1, runs=2), log)  # the same settings go on
    assert len(log.read_text().splitlines()) == 2


def test_proxy_tops_ground_truth_trains_only_each_proxys_top(searchable, tmp_path):
    data, val = searchable
    cands = [Candidate(depth=1, width=16), Candidate(depth=1, width=16, norm="none"), Candidate(depth=2, width=16),
             Candidate(depth=1, width=16, act="sigmoid")]
    rand = random_real(data, 2, 0)
    cfg = NASConfig(proxy_epochs=10, full_epochs=1, top=2, ground_truth="proxy-tops")
    log = tmp_path / "nas.jsonl"
    res = run_search(data, val, {"random": (rand.images, rand.labels)}, cands, cfg, log)
    own_top = sorted(res["random"], key=res["random"].get, reverse=True)[:2]
    assert len(res["random"]) == 4 and sorted(res["full"]) == sorted(own_top)
    s = summarize(log, top=2)
    assert abs(s["random"]["spearman_proxy_top"]) == pytest.approx(1.0)  # two candidates: the paper's measure
    assert s["random"]["spearman_top"] is None and s["random"]["spearman_all"] is None
    assert s["full data"]["chosen"] is None  # the full data's own pick would need every candidate
    with pytest.raises(ConfigError, match="needs at least one proxy"):
        run_search(data, val, {}, cands, cfg, tmp_path / "other.jsonl")
    with pytest.raises(ConfigError, match="unknown ground truth"):
        run_search(data, val, {}, cands, NASConfig(ground_truth="some"), tmp_path / "other.jsonl")


def test_fewer_ground_truth_trainings_than_proxy_trainings(searchable, tmp_path):
    data, val = searchable
    cands = [Candidate(depth=1, width=16), Candidate(depth=1, width=16, norm="none")]
    rand = random_real(data, 2, 0)
    log = tmp_path / "nas.jsonl"
    res = run_search(data, val, {"random": (rand.images, rand.labels)}, cands,
                     NASConfig(proxy_epochs=10, full_epochs=1, runs=2, full_runs=1), log)
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    trainings = sorted((r["proxy"], r["run"]) for r in lines)
    assert trainings == [("full", 0)] * 2 + [("random", 0)] * 2 + [("random", 1)] * 2
    first_full = {r["candidate"]: r["val_acc"] for r in lines if r["proxy"] == "full"}
    assert res["full"] == pytest.approx(first_full)
    second = {r["candidate"]: r["val_acc"] for r in lines if r["proxy"] == "random" and r["run"] == 1}
    first = {r["candidate"]: r["val_acc"] for r in lines if r["proxy"] == "random" and r["run"] == 0}
    assert res["random"] == pytest.approx({c: (first[c] + second[c]) / 2 for c in first})
    assert summarize(log, top=2, runs=2, full_runs=1)["random"]["seconds"] == pytest.approx(
        sum(r["seconds"] for r in lines if r["proxy"] == "random"))


def test_a_proxy_trained_with_augmentation(searchable, tmp_path):
    data, val = searchable
    cands = [Candidate(depth=1, width=16), Candidate(depth=1, width=16, norm="none")]
    rand = random_real(data, 2, 0)
    xy = (rand.images, rand.labels)
    cfg = NASConfig(proxy_epochs=10, full_epochs=1, augment={"random+dsa": "dsa"})
    log = tmp_path / "nas.jsonl"
    res = run_search(data, val, {"random": xy, "random+dsa": xy}, cands, cfg, log)
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert {r["proxy"]: r.get("augment") for r in lines} == {"full": None, "random": None, "random+dsa": "dsa"}
    # the same set, seeds and candidates: only the augmentation differs, and it changes what is learned
    assert res["random+dsa"] != res["random"]
    with pytest.raises(ConfigError, match="augmentation 'dsa'.*asks for 'none'"):
        run_search(data, val, {"random": xy, "random+dsa": xy}, cands, NASConfig(proxy_epochs=10, full_epochs=1), log)
    with pytest.raises(ConfigError, match="not a proxy set"):
        run_search(data, val, {"random": xy, "early": None}, cands,
                   NASConfig(proxy_epochs=10, full_epochs=1, augment={"early": "dsa"}), tmp_path / "other.jsonl")
    with pytest.raises(ConfigError, match="unknown augmentation 'flip'"):
        run_search(data, val, {"random": xy}, cands,
                   NASConfig(proxy_epochs=10, full_epochs=1, augment={"random": "flip"}), tmp_path / "other.jsonl")
