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


@pytest.mark.parametrize("name", ["dc2021-aug", "dc2021-aug-reference"])
def test_a_batchnorm_convnet_trains_with_crop_and_noise_under_the_dc_augmentation(name):
    # the reference's get_daparam: its ConvNetBN gets crop + noise where every other network gets crop-scale-rotate
    from datadistill.evaluate.train import protocol_augment

    proto = get_protocol(name)
    for model, kw in (("convnet:norm=batchnorm", ()), ("convnet_bn", ()), ("convnet", (("norm", "batchnorm"),))):
        spec = EvalSpec(model, proto, model_kw=kw)
        assert spec.protocol.augment == f"{proto.augment}:strategy=crop_noise"
        assert protocol_augment(spec.protocol, "mnist").cfg.ops == ("crop", "noise")
        assert EvalSpec(model, spec.protocol, model_kw=kw).protocol == spec.protocol  # applying it again: no change
    for model in ("convnet", "convnet:norm=layernorm", "alexnet_bn", "resnet18_bn"):
        spec = EvalSpec(model, proto)
        assert spec.protocol.augment == proto.augment
        assert protocol_augment(spec.protocol, "mnist").cfg.ops == ("crop", "scale", "rotate")


def test_a_batchnorm_convnets_result_names_the_augmentation_it_trained_with(digits):
    x, y = digits.train.images[:20], digits.train.labels[:20]
    proto = get_protocol("dc2021-aug", epochs=1)
    bn, other = (evaluate_tensors(x, y, digits.info, digits.test, EvalSpec(m, proto, runs=1))
                 for m in ("convnet_bn", "convnet"))
    assert bn.config["protocol"]["augment"] == "dc:strategy=crop_noise"
    assert other.config["protocol"]["augment"] == "dc"
    assert "batchnorm_convnet_augment" not in bn.config["protocol"] | other.config["protocol"]


def test_the_batchnorm_rule_leaves_the_records_of_every_other_network_as_they_were():
    # cache keys hold Protocol.to_dict(): a network the rule does not touch keeps the key it had before the rule
    before = {"name": "dc2021-aug", "epochs": 1000, "lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4,
              "batch_size": 256, "decay_at": 0.5, "decay_factor": 0.1, "augment": "dc", "use_learned_lr": False,
              "precision": "fp32", "test_batch": 1000, "replay": False}
    assert EvalSpec("convnet", get_protocol("dc2021-aug")).protocol.to_dict() == before
    assert EvalSpec("convnet_bn", get_protocol("dc2021-aug")).protocol.to_dict() == \
        {**before, "augment": "dc:strategy=crop_noise"}
    assert "batchnorm_convnet_augment" not in get_protocol("dsa2021").to_dict()
    assert get_protocol("dc2021-aug").to_dict()["batchnorm_convnet_augment"] == "dc:strategy=crop_noise"


@pytest.mark.parametrize("augment, says", [("dc:strategy=crop_blur", "unknown DC augmentation op 'blur'"),
                                           ("dc:spin=3", "unknown DCAugConfig option 'spin'"),
                                           ("dc:crop", "option 'crop' is not key=value"),
                                           ("dc:crop=1:crop=2", "augmentation option 'crop' is given twice"),
                                           ("none:crop=1", "augmentation 'none' takes no options")])
def test_a_bad_augmentation_spec_is_one_line_config_error(augment, says):
    from datadistill.evaluate.train import protocol_augment

    with pytest.raises(ConfigError, match=says):
        protocol_augment(get_protocol("quick", augment=augment), "mnist")


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
