"""The cross-architecture matrix reuses cached cells and hands every new cell to `on_new` at once."""
import pytest

from datadistill import random_real
from datadistill.evaluate import EvalResult
from datadistill.evaluate.crossarch import cross_architecture


class Stop(Exception):
    pass


def test_a_stopped_matrix_keeps_the_cells_it_finished(digits):
    syn = random_real(digits, 1, 0)
    trained = []

    def evaluate(s, model):
        if model == "lenet":
            raise Stop  # the run is stopped while the second cell trains
        trained.append(model)
        return EvalResult("quick", model, [50.0 + len(trained)], 0)

    saved = []
    with pytest.raises(Stop):
        cross_architecture([("r", syn)], ["mlp", "lenet"], 1, evaluate, lambda s: "quick",
                           on_new=lambda label, s: saved.append((label, [e["model"] for e in s.evaluations])))
    assert saved == [("r", ["mlp"])]  # the finished cell was handed over before the stop
    result = cross_architecture([("r", syn)], ["mlp", "convnet"], 1, evaluate, lambda s: "quick")
    assert trained == ["mlp", "convnet"]  # mlp came from the cache, only convnet trained again
    assert result.cells[("r", "mlp")].accs == [51.0] and result.cells[("r", "convnet")].accs == [52.0]


def test_no_networks_per_cell_is_refused_and_empty_entries_are_no_cache(digits):
    from datadistill.errors import ConfigError

    syn = random_real(digits, 1, 0)
    syn.evaluations.append({"protocol": "quick", "model": "mlp", "accs": [], "seed": 0})  # left by an old bug
    with pytest.raises(ConfigError, match="runs 0: each cell trains at least one network"):
        cross_architecture([("r", syn)], ["mlp"], 0, lambda s, m: None, lambda s: "quick")
    result = cross_architecture([("r", syn)], ["mlp"], 1, lambda s, m: EvalResult("quick", m, [60.0], 0),
                                lambda s: "quick")
    assert result.cells[("r", "mlp")].accs == [60.0]  # trained, not the empty entry
