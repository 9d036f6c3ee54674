"""Continual learning on two tiny tasks: a rehearsal memory keeps the first task better than no memory."""
import pytest

from datadistill.applications.continual import ContinualConfig, run_continual
from datadistill.data.base import DatasetSplits
from datadistill.errors import ConfigError


def _shifted(digits):
    """A second task on the same classes: the digits upside down with inverted contrast."""
    flip = lambda x: -x.flip(-2)  # noqa: E731
    return DatasetSplits(digits.info, digits.train.map_images(flip), digits.test.map_images(flip))


def test_memory_keeps_the_first_task(digits):
    tasks = [digits, _shifted(digits)]
    base = dict(tasks=("digits", "digits-shifted"), epochs=8, memory_per_class=10, precision="fp32")
    without = run_continual(ContinualConfig(fill="none", **base), tasks)
    herding = run_continual(ContinualConfig(fill="herding", **base), tasks)
    assert len(herding) == 2 and len(herding[1]) == 2
    assert herding[0][0] > 80  # task 1 learned
    assert herding[1][0] > without[1][0] + 10, (herding, without)  # measured 64.9 vs 46.5 at 8 epochs


def test_kd_and_condensed_memory_run(digits):
    tasks = [digits, _shifted(digits)]
    cfg = ContinualConfig(tasks=("a", "b"), epochs=2, fill="condensed", condense_method="dm",
                          condense_iterations=3, memory_per_class=2, kd=True, precision="fp32")
    accs = run_continual(cfg, tasks)
    assert len(accs[1]) == 2 and all(0 <= a <= 100 for a in accs[1])
    with pytest.raises(ConfigError, match="fill must be one of"):
        run_continual(ContinualConfig(fill="magic"), tasks)


def test_condensed_memories_are_condensed_once_for_runs_with_and_without_kd(digits, tmp_path, monkeypatch):
    tasks = [digits, _shifted(digits)]
    base = dict(tasks=("a", "b"), epochs=1, fill="condensed", condense_method="dm", condense_iterations=2,
                memory_per_class=1, precision="fp32")
    run_continual(ContinualConfig(kd=False, **base), tasks, memory_cache=tmp_path)
    kept = list(tmp_path.glob("memory_*.safetensors"))
    assert len(kept) == 1  # one memory: the last task's is never needed

    def refuse(*args, **kwargs):
        raise AssertionError("condensed again although the memory was kept")

    monkeypatch.setattr("datadistill.api.distill", refuse)
    accs = run_continual(ContinualConfig(kd=True, **base), tasks, memory_cache=tmp_path)
    assert len(accs) == 2 and list(tmp_path.glob("memory_*.safetensors")) == kept
    with pytest.raises(AssertionError, match="condensed again"):  # another seed is another memory
        run_continual(ContinualConfig(kd=True, seed=1, **base), tasks, memory_cache=tmp_path)


def test_colour_and_grey_tasks_share_one_grey_channel(tmp_path):
    import numpy as np
    from scipy.io import savemat

    from datadistill.applications.continual import load_tasks

    rng = np.random.default_rng(0)
    (tmp_path / "svhn").mkdir()
    for name in ("train_32x32.mat", "test_32x32.mat"):
        savemat(tmp_path / "svhn" / name, {"X": rng.integers(0, 256, (32, 32, 3, 20)).astype(np.uint8),
                                           "y": (np.arange(20) % 10 + 1).reshape(-1, 1).astype(np.uint8)})
    svhn, digits = load_tasks(ContinualConfig(tasks=("svhn", "digits"), size=8), tmp_path)
    assert svhn.info.channels == digits.info.channels == 1
    assert svhn.train.images.shape[1:] == digits.train.images.shape[1:] == (1, 8, 8)
