"""Training the evaluation networks: torch.compile gives the network eager training gives, and its failure is
one line."""
import statistics

import pytest
import torch
from torch._dynamo.exc import BackendCompilerFailed

from datadistill import random_real
from datadistill.errors import ConfigError
from datadistill.evaluate import EvalSpec, evaluate_tensors, get_protocol
from datadistill.evaluate.train import EvalResult, train_network
from datadistill.models import create_model
from datadistill.seeding import make_generator


def _trained(digits, compile: bool, epochs: int = 20):
    s = random_real(digits, 5, 0)
    net = create_model("convnet", 1, 10, (8, 8), generator=make_generator(0, "test-net"))
    proto = get_protocol("quick", epochs=epochs, augment="dsa", precision="fp32")
    return train_network(net, s.images, s.labels, proto, make_generator(0, "test-train"), compile=compile)


def test_compiled_training_gives_the_eager_network(digits):
    """Same seeds, fp32: the compiled passes differ from eager only in float order, so after 20 SGD steps (with
    DSA augmentation drawn from the same generator) the weights agree closely, and they moved from their start."""
    compiled, eager = _trained(digits, True), _trained(digits, False)
    start = create_model("convnet", 1, 10, (8, 8), generator=make_generator(0, "test-net"))
    for (name, a), b, s in zip(compiled.named_parameters(), eager.parameters(), start.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4, msg=name)
        assert not torch.allclose(b, s), name


def test_an_evaluation_records_that_it_compiled(digits):
    s = random_real(digits, 2, 0)
    proto = get_protocol("quick", epochs=3)
    res = evaluate_tensors(s.images, s.labels, digits.info, digits.test, EvalSpec("convnet", proto, 2, compile=True))
    plain = evaluate_tensors(s.images, s.labels, digits.info, digits.test, EvalSpec("convnet", proto, 2))
    assert res.config["compiled"] and "compiled" not in plain.config
    assert res.accs == pytest.approx(plain.accs, abs=2.0)  # bf16 here: float order may move an image or two


def test_a_failing_compiler_is_a_one_line_error(digits, monkeypatch):
    def broken(module, **kw):
        def call(*args):
            raise BackendCompilerFailed(None, FileNotFoundError("g++"), None)
        return call

    monkeypatch.setattr(torch, "compile", broken)
    with pytest.raises(ConfigError, match="torch.compile failed here .FileNotFoundError.; install a C\\+\\+ compiler"):
        _trained(digits, True, epochs=1)


class Stop(Exception):
    pass


def test_an_interrupted_training_continues_from_its_checkpoint_exactly(digits, tmp_path):
    """Stopped after epoch 2 of 4 and started again from a fresh network and generator, the training ends with
    the weights of the uninterrupted one (the checkpoint holds weights, momentum and the generator)."""
    s = random_real(digits, 5, 0)
    proto = get_protocol("quick", epochs=4, augment="dsa", precision="fp32")

    def run(checkpoint=None, on_epoch=None):
        net = create_model("convnet", 1, 10, (8, 8), generator=make_generator(0, "test-net"))
        return train_network(net, s.images, s.labels, proto, make_generator(0, "test-train"),
                             checkpoint=checkpoint, on_epoch=on_epoch)

    straight = run()
    ckpt = tmp_path / "model0.safetensors"

    def stop_at_2(epoch, net):
        if epoch == 2:
            raise Stop

    with pytest.raises(Stop):
        run(ckpt, stop_at_2)
    seen = []
    resumed = run(ckpt, lambda e, net: seen.append(e))
    assert seen == [3, 4]  # only the epochs the checkpoint lacked
    for (name, a), b in zip(resumed.named_parameters(), straight.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


def test_an_evaluation_removes_each_checkpoint_once_its_model_is_tested(digits, tmp_path):
    s = random_real(digits, 2, 0)
    spec = EvalSpec("mlp", get_protocol("quick", epochs=2), 2)
    seen = []
    res = evaluate_tensors(s.images, s.labels, digits.info, digits.test, spec, checkpoint_dir=tmp_path / "ck",
                           on_model=lambda i, a: seen.append(sorted(p.name for p in (tmp_path / "ck").iterdir())))
    assert seen == [["model0.safetensors"], ["model1.safetensors"]]  # saved while it trained
    assert not list((tmp_path / "ck").iterdir())
    plain = evaluate_tensors(s.images, s.labels, digits.info, digits.test, spec)
    assert res.accs == plain.accs


def test_a_checkpoint_of_another_network_is_a_one_line_error(digits, tmp_path):
    from datadistill.errors import ArtifactError

    s = random_real(digits, 2, 0)
    proto = get_protocol("quick", epochs=1, precision="fp32")
    ckpt = tmp_path / "model0.safetensors"
    mlp = create_model("mlp", 1, 10, (8, 8), generator=make_generator(0, "test-net"))
    train_network(mlp, s.images, s.labels, proto, make_generator(0, "t"), checkpoint=ckpt)
    convnet = create_model("convnet", 1, 10, (8, 8), generator=make_generator(0, "test-net"))
    with pytest.raises(ArtifactError, match="does not hold a checkpoint of this network.*delete it"):
        train_network(convnet, s.images, s.labels, proto, make_generator(0, "t"), checkpoint=ckpt)
    ckpt.write_bytes(b"not a safetensors file")
    with pytest.raises(ArtifactError, match="delete it"):
        train_network(mlp, s.images, s.labels, proto, make_generator(0, "t"), checkpoint=ckpt)


def test_eval_result_mean_and_std_are_the_benches_statistics_of_the_accuracies():
    accs = [68.95, 67.39, 69.2, 70.32]  # mean 68.965: a float32 mean reads 68.96, the benches' statistics 68.97
    res = EvalResult("dc2021", "convnet", accs, 0)
    assert res.mean == statistics.mean(accs) and f"{res.mean:.2f}" == "68.97"
    assert res.std == statistics.pstdev(accs)
    assert EvalResult("dc2021", "convnet", [91.5], 0).std == 0.0
