"""Training the evaluation networks together (vmap) gives the per-model results of training them one by one."""
import pytest
import torch

from datadistill import random_real
from datadistill.evaluate import EvalSpec, evaluate_tensors, get_protocol
from datadistill.evaluate.batched import batchable
from datadistill.models import create_model


@pytest.mark.parametrize("model,augment", [("convnet", "dsa"), ("mlp", "none"), ("convnet_ln", "dc")])
def test_batched_equals_sequential(digits, model, augment):
    s = random_real(digits, 3, 0)
    proto = get_protocol("quick", epochs=15, augment=augment)
    batched = evaluate_tensors(s.images, s.labels, digits.info, digits.test,
                               EvalSpec(model, proto, 3, seed=1, batched=True))
    seq = evaluate_tensors(s.images, s.labels, digits.info, digits.test,
                           EvalSpec(model, proto, 3, seed=1, batched=False))
    assert batched.config["batched"] and not seq.config["batched"]
    assert batched.accs == pytest.approx(seq.accs, abs=0.3)  # same seeds: same models up to float order
    assert len(set(batched.accs)) > 1  # the models differ from each other


def test_batchnorm_falls_back_to_sequential(digits):
    assert not batchable(create_model("convnet_bn", 1, 10, (8, 8)))
    s = random_real(digits, 2, 0)
    res = evaluate_tensors(s.images, s.labels, digits.info, digits.test,
                           EvalSpec("convnet_bn", get_protocol("quick", epochs=3), 2, seed=0, batched=True))
    assert not res.config["batched"] and len(res.accs) == 2


def test_learned_lr_reaches_every_model(digits):
    s = random_real(digits, 2, 0)
    proto = get_protocol("quick", epochs=5)
    a = evaluate_tensors(s.images, s.labels, digits.info, digits.test, EvalSpec("mlp", proto, 2, batched=True),
                         lr=1e-9)
    init = [evaluate_tensors(s.images, s.labels, digits.info, digits.test,
                             EvalSpec("mlp", get_protocol("quick", epochs=0), 2)).accs]
    assert a.accs == pytest.approx(init[0], abs=1e-6)  # a vanishing lr leaves the initial networks
    assert torch.isfinite(torch.tensor(a.accs)).all()


@pytest.mark.parametrize("batched", [True, False])
def test_the_same_trained_networks_are_tested_on_extra_splits(digits, batched):
    s = random_real(digits, 2, 0)
    rest, val = digits.train.split_validation(0.2, torch.Generator().manual_seed(0))
    spec = EvalSpec("convnet", get_protocol("quick", epochs=5), 2, seed=3, batched=batched)
    res = evaluate_tensors(s.images, s.labels, digits.info, digits.test, spec, also=(val, digits.test))
    plain = evaluate_tensors(s.images, s.labels, digits.info, digits.test, spec)
    assert res.accs == plain.accs and "also_accs" not in plain.config  # asking for more changes nothing
    on_val, on_test = res.config["also_accs"]
    assert on_test == res.accs  # the second extra split is the test split itself: the same networks
    assert len(on_val) == 2 and on_val != on_test
