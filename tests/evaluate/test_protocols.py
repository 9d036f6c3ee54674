import pytest

from datadistill.errors import ConfigError
from datadistill.evaluate import EvalSpec, dc_protocol, evaluate_tensors, get_protocol
from datadistill.evaluate.protocols import lr_for_epoch as _lr_for_epoch


def test_named_protocols_are_the_published_ones():
    dc = get_protocol("dc2021")
    assert (dc.epochs, dc.lr, dc.momentum, dc.weight_decay, dc.batch_size, dc.augment) == \
        (300, 0.01, 0.9, 5e-4, 256, "none")
    assert get_protocol("dc2021-aug").epochs == 1000 and get_protocol("dc2021-aug").augment == "dc"
    assert get_protocol("dsa2021").epochs == 1000 and get_protocol("dsa2021").augment == "dsa"
    with pytest.raises(ConfigError, match="known"):
        get_protocol("dc2099")


def test_the_dc_papers_protocol_augments_mnist_only():
    assert get_protocol(dc_protocol("mnist")).augment == "dc"
    assert [get_protocol(dc_protocol(d)).augment for d in ("fashion-mnist", "digits")] == ["none", "none"]


def test_an_evaluation_of_no_networks_is_refused():
    with pytest.raises(ConfigError, match="runs 0: an evaluation trains at least one network"):
        EvalSpec(runs=0)


def test_lr_decays_by_ten_at_half():
    p = get_protocol("dc2021")
    assert _lr_for_epoch(p, 0.01, 149) == 0.01 and _lr_for_epoch(p, 0.01, 150) == pytest.approx(0.001)


def test_evaluation_is_seeded_and_reports_every_run(digits):
    proto = get_protocol("quick", epochs=5)
    x, y = digits.train.images[:200], digits.train.labels[:200]
    a = evaluate_tensors(x, y, digits.info, digits.test, EvalSpec("mlp", proto, runs=2, seed=3))
    b = evaluate_tensors(x, y, digits.info, digits.test, EvalSpec("mlp", proto, runs=2, seed=3))
    assert a.accs == b.accs and len(a.accs) == 2 and a.accs[0] != a.accs[1]
    assert a.mean == pytest.approx(sum(a.accs) / 2)


def test_whole_dataset_upper_bound_is_high(digits):
    from datadistill import whole_dataset

    res = whole_dataset(digits, EvalSpec("convnet", get_protocol("quick", epochs=20), runs=1))
    assert res.mean > 95.0  # measured 97.5 (98.9 at 40 epochs); random real images at IPC 1 reach ~65-70


@pytest.mark.parametrize("native", ["0", "1"])
def test_result_records_the_precision_it_was_computed_in(digits, monkeypatch, native):
    from datadistill.runtime import CPU_BF16_ENV

    monkeypatch.setenv(CPU_BF16_ENV, native)
    x, y = digits.train.images[:100], digits.train.labels[:100]
    res = evaluate_tensors(x, y, digits.info, digits.test,
                           EvalSpec("mlp", get_protocol("quick", epochs=2, precision="bf16"), runs=1))
    assert res.config["protocol"]["precision"] == "bf16"
    assert res.config["precision"] == ("bf16" if native == "1" else "fp32")
