"""Every registered model: shapes, gradients, reproducible init and the factory's error messages."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from datadistill.errors import ConfigError
from datadistill.models import (
    MODELS,
    create_model,
    has_batchnorm,
    init_weights,
    is_batchnorm_convnet,
    list_models,
    model_spec,
    parse_model_spec,
)

SHAPES = [(1, (28, 28)), (3, (32, 32))]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_registry_lists_all_families() -> None:
    names = list_models()
    assert names == MODELS.names()
    for family in ("convnet", "mlp", "lenet", "alexnet", "alexnet_bn", "vgg11", "vgg11_bn", "resnet18", "resnet18_bn"):
        assert family in names
    assert all(name == name.lower() for name in names)


@pytest.mark.parametrize("channels,im_size", SHAPES, ids=["1x28x28", "3x32x32"])
@pytest.mark.parametrize("name", list_models())
def test_forward_backward(name: str, channels: int, im_size: tuple[int, int]) -> None:
    model = create_model(name, channels, 10, im_size, generator=_gen(0))
    x = torch.randn(2, channels, *im_size, generator=_gen(1))
    emb = model.embed(x)
    assert emb.shape == (2, model.feature_dim)
    out = model(x)
    assert out.shape == (2, 10)
    torch.testing.assert_close(out, model.classifier(emb))
    out.logsumexp(1).sum().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def test_convnet_mnist_padding_and_features() -> None:
    mnist = create_model("convnet", 1, 10, 28)
    convs = [m for m in mnist.modules() if isinstance(m, nn.Conv2d)]
    assert mnist.feature_dim == 2048 and len(convs) == 3
    assert convs[0].padding == (3, 3) and convs[1].padding == (1, 1)
    assert isinstance(mnist.features[1], nn.GroupNorm) and mnist.features[1].num_groups == 128
    assert isinstance(mnist.features[3], nn.AvgPool2d)
    cifar = create_model("convnet", 3, 10, (32, 32))
    assert cifar.feature_dim == 2048
    assert next(m for m in cifar.modules() if isinstance(m, nn.Conv2d)).padding == (1, 1)


def test_convnet_options_and_small_inputs() -> None:
    assert create_model("convnet", 1, 10, 8).feature_dim == 128 * 2 * 2  # UCI digits: auto depth 2
    assert create_model("convnet", 1, 10, 8, depth=3).feature_dim == 128  # 8 -> 4 -> 2 -> 1
    assert create_model("convnet", 1, 10, 16).feature_dim == 128 * 2 * 2  # depth 3 from side 16 up
    assert create_model("convnet", 1, 10, 32, width=64, depth=2).feature_dim == 64 * 8 * 8
    ln = create_model("convnet_ln", 3, 10, 32).features[1]
    assert isinstance(ln, nn.LayerNorm) and ln.normalized_shape == (128, 32, 32)
    assert isinstance(create_model("convnet_al", 3, 10, 32).features[2], nn.LeakyReLU)
    with pytest.raises(ConfigError, match="too small"):
        create_model("convnet", 1, 10, 8, depth=4)
    with pytest.raises(ConfigError, match="known: relu, leakyrelu, sigmoid"):
        create_model("convnet", 1, 10, 28, act="tanh")


@pytest.mark.parametrize("name,channels,size", [("lenet", 1, 8), ("vgg11", 3, 28), ("alexnet", 3, 4)])
def test_too_small_input_is_one_line_config_error(name: str, channels: int, size: int) -> None:
    with pytest.raises(ConfigError) as err:
        create_model(name, channels, 10, size)
    assert "too small" in str(err.value) and "\n" not in str(err.value)


def test_unknown_model_and_option() -> None:
    with pytest.raises(ConfigError) as err:
        create_model("resnet1000", 3, 10, 32)
    msg = str(err.value)
    assert "\n" not in msg and "resnet1000" in msg
    assert all(name in msg for name in list_models())
    with pytest.raises(ConfigError) as err:
        create_model("mlp", 3, 10, 32, widht=3)
    assert "widht" in str(err.value) and "\n" not in str(err.value)


def test_a_model_spec_builds_the_network_its_options_name() -> None:
    assert parse_model_spec("convnet:depth=4:act=sigmoid:width=32") == (
        "convnet", {"depth": 4, "act": "sigmoid", "width": 32})
    # a saved set's name and options name its network whole again
    assert model_spec("convnet", {"depth": 4, "act": "sigmoid", "width": 32}) == "convnet:depth=4:act=sigmoid:width=32"
    assert parse_model_spec(model_spec("convnet", {"norm": "none", "depth": 1})) == ("convnet", {"norm": "none", "depth": 1})
    assert model_spec("lenet", {}) == model_spec("lenet") == "lenet"
    spec = create_model("convnet:depth=2:width=16:norm=batchnorm:pooling=maxpooling", 1, 10, 28, generator=_gen(3))
    kw = create_model("convnet", 1, 10, 28, generator=_gen(3), depth=2, width=16, norm="batchnorm",
                      pooling="maxpooling")
    assert [type(m) for m in spec.modules()] == [type(m) for m in kw.modules()]
    assert has_batchnorm(spec) and spec.feature_dim == 16 * 8 * 8
    for (key, value), other in zip(spec.state_dict().items(), kw.state_dict().values()):
        assert torch.equal(value, other), key
    assert create_model("convnet_d2:width=64", 1, 10, 28).feature_dim == 64 * 8 * 8  # a variant takes options too
    assert create_model("convnet:depth=2", 1, 10, 28, depth=2).feature_dim == 128 * 8 * 8  # same value twice: fine


@pytest.mark.parametrize("spec,says", [
    ("convnet:depth", "not key=value"),
    ("convnet:depth=deep", "depth='deep'"),
    ("convnet:depht=2", "depht"),
    ("convnet:depth=2:depth=3", "given twice"),
    ("convnet:act=tanh", "tanh"),
    ("convnett:depth=2", "convnett"),
])
def test_a_bad_model_spec_is_one_line_config_error(spec: str, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        create_model(spec, 1, 10, 28)
    assert says in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="differently"):
        create_model("convnet:depth=2", 1, 10, 28, depth=3)


@pytest.mark.parametrize("name", list_models())
def test_generator_init_is_reproducible_and_leaves_global_rng(name: str) -> None:
    state = torch.get_rng_state()
    a = create_model(name, 1, 10, 28, generator=_gen(3)).state_dict()
    b = create_model(name, 1, 10, 28, generator=_gen(3)).state_dict()
    c = create_model(name, 1, 10, 28, generator=_gen(4)).state_dict()
    assert torch.equal(state, torch.get_rng_state())
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("name", ["convnet", "convnet_bn", "convnet_ln", "lenet", "resnet18_bn"])
def test_generator_init_matches_pytorch_default_init(name: str) -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        default = create_model(name, 3, 10, 32).state_dict()
    seeded = create_model(name, 3, 10, 32, generator=_gen(5)).state_dict()
    for key, value in default.items():
        torch.testing.assert_close(seeded[key], value, rtol=0, atol=0, msg=key)


def test_init_weights_reinitialises_in_place() -> None:
    model = create_model("convnet_bn", 1, 10, 28)
    model(torch.randn(4, 1, 28, 28, generator=_gen(0)))  # updates running statistics
    init_weights(model, _gen(7))
    ref = create_model("convnet_bn", 1, 10, 28, generator=_gen(7))
    for (key, value), ref_value in zip(model.state_dict().items(), ref.state_dict().values()):
        assert torch.equal(value, ref_value), key


def test_has_batchnorm() -> None:
    bn_names = [n for n in list_models() if n.endswith("_bn")]
    assert {"convnet_bn", "alexnet_bn", "vgg11_bn", "resnet18_bn"} <= set(bn_names)
    for name in bn_names:
        assert has_batchnorm(create_model(name, 1, 10, 28))
    for name in ("convnet", "vgg11", "resnet18", "mlp"):
        assert not has_batchnorm(create_model(name, 1, 10, 28))


@pytest.mark.parametrize("spec, kw", [("convnet_bn", {}), ("convnet:norm=batchnorm", {}), ("convnet_bn:depth=2", {}),
                                      ("convnet", {"norm": "batchnorm"}), ("convnet_d2", {"norm": "batchnorm"})])
def test_a_batchnorm_convnet_is_told_from_its_spec(spec: str, kw: dict) -> None:
    assert is_batchnorm_convnet(spec, **kw)
    assert has_batchnorm(create_model(spec, 1, 10, 28, **kw))  # the spec builds what it was read as


@pytest.mark.parametrize("spec", ["convnet", "convnet_ln", "convnet_bn:norm=instancenorm", "alexnet_bn", "vgg11_bn",
                                  "resnet18_bn", "no_such_net"])
def test_other_networks_are_not_batchnorm_convnets(spec: str) -> None:
    assert not is_batchnorm_convnet(spec)


def test_fast_avgpool_equals_avg_pool2d_and_is_twice_differentiable() -> None:
    import torch.nn.functional as F

    from datadistill.models._base import AvgPool2x2

    x = torch.randn(2, 3, 9, 6, dtype=torch.double, requires_grad=True)
    assert torch.allclose(AvgPool2x2()(x), F.avg_pool2d(x, 2))
    assert torch.autograd.gradcheck(AvgPool2x2(), (x,)) and torch.autograd.gradgradcheck(AvgPool2x2(), (x,))
