"""DM learns on the embedded digits, and its batched pass computes the per-class loss."""
import pytest
import torch

from datadistill import distill
from datadistill.methods import DistillContext, create_method
from datadistill.seeding import make_generator


def _method(data, ipc, seed=0, model="convnet", **kw):
    m = create_method("dm", DistillContext(data.train, data.info, ipc, model), **kw)
    m.init(make_generator(seed, "init"))
    return m


@pytest.mark.parametrize("dsa", [True, False])
def test_batched_pass_gives_the_per_class_loss(digits, dsa):
    batched = _method(digits, 3, dsa=dsa, precision="fp32", syn_precision="fp32", batched=True)
    looped = _method(digits, 3, dsa=dsa, precision="fp32", syn_precision="fp32", batched=False)
    lb = batched.loss(make_generator(0, "step", 0))
    ll = looped.loss(make_generator(0, "step", 0))
    gb = torch.autograd.grad(lb, batched.syn)[0]
    gl = torch.autograd.grad(ll, looped.syn)[0]
    assert lb.item() > 0
    torch.testing.assert_close(lb, ll, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(gb, gl, rtol=1e-4, atol=1e-6)


def test_compiled_real_embedding_gives_the_eager_loss(digits):
    """compile=True runs the real pass through torch.compile; the fresh network of every iteration gives the
    same loss and image gradient as eager (fp32, two iterations: two different networks, one compiled graph)."""
    compiled = _method(digits, 2, precision="fp32", syn_precision="fp32", compile=True)
    eager = _method(digits, 2, precision="fp32", syn_precision="fp32")
    for it in range(2):
        lc = compiled.loss(make_generator(0, "step", it))
        le = eager.loss(make_generator(0, "step", it))
        torch.testing.assert_close(lc, le, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(torch.autograd.grad(lc, compiled.syn)[0], torch.autograd.grad(le, eager.syn)[0],
                                   rtol=1e-4, atol=1e-6)


def test_loss_is_the_squared_distance_of_class_means(digits):
    """Without augmentation, by hand: sum_c ||mean embed(real_c) - mean embed(syn_c)||^2."""
    m = _method(digits, 2, dsa=False, precision="fp32", syn_precision="fp32")
    gen = make_generator(1, "step", 0)
    loss = m.loss(gen)
    gen = make_generator(1, "step", 0)
    net = m._new_net(gen)
    n = min(m.config.batch_real, min(digits.train.class_counts()))
    real = digits.train.sample_classes(n, gen)
    want = sum(((net.embed(real[c]).mean(0) - net.embed(m.syn[2 * c:2 * c + 2]).mean(0)) ** 2).sum()
               for c in range(digits.info.num_classes))
    torch.testing.assert_close(loss, want, rtol=1e-4, atol=1e-5)


def test_beats_random_real_at_ipc1(digits, convnet_acc, random_real_acc):
    margins = []
    for seed in (0, 1, 2):  # margins measured 16-22 points at 10 iterations
        syn = distill(digits, "dm", ipc=1, iterations=10, seed=seed)
        margins.append(convnet_acc(syn.images, syn.labels, seed) - random_real_acc(seed))
    assert min(margins) > 0 and sum(margins) / 3 > 5.0, margins


def test_batchnorm_network_takes_the_per_class_path(digits):
    m = _method(digits, 1, model="convnet_bn")
    assert m.has_bn
    out = m.step(0, make_generator(0, "step", 0))
    assert out["loss"] > 0 and torch.isfinite(m.images()).all()


def test_default_protocol_and_iterations(digits):
    m = _method(digits, 1)
    assert m.default_protocol() == "dm2023" and m.default_iterations == 20000
