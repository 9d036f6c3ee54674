"""DD: exact unrolled gradients (finite differences, constant memory), fixed-init learning, poisoning."""
import math

import pytest
import torch

from datadistill import distill, evaluate
from datadistill.experts import ExpertConfig, train_experts
from datadistill.methods import DistillContext, create_method
from datadistill.methods.unroll import BatchLoss, Step, Unroll
from datadistill.models import create_model
from datadistill.models.flat import FlatNet
from datadistill.seeding import make_generator


def _dd(data, ipc=1, **kw):
    m = create_method("dd", DistillContext(data.train, data.info, ipc, "convnet"), **kw)
    m.init(make_generator(0, "init"))
    return m


def _mlp_problem(tag):
    """A float64 MLP student on 4x4 inputs, 6 synthetic images (3 classes) and a real batch of 20."""
    student = FlatNet(create_model("mlp", 1, 3, (4, 4), generator=make_generator(0, tag)).double())
    gen = make_generator(1, tag)
    x = torch.randn(6, 1, 4, 4, generator=gen, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    xr = torch.randn(20, 1, 4, 4, generator=gen, dtype=torch.float64)
    yr = torch.randint(3, (20,), generator=gen)
    return student, Unroll(student, torch.device("cpu")), x, y, xr, yr


def test_unrolled_gradient_matches_finite_differences():
    """float64 MLP, 3 steps: d loss / d one pixel and d loss / d one rate against central differences."""
    student, unroll, x, y, xr, yr = _mlp_problem("fd")
    lrs = torch.tensor([0.3, 0.2, 0.1], dtype=torch.float64)
    steps = [Step(torch.tensor([0, 1, 2]), 0), Step(torch.tensor([3, 4, 5]), 1), Step(torch.tensor([0, 4, 2]), 2)]
    final = lambda th: torch.nn.functional.cross_entropy(student(th, xr), yr)  # noqa: E731
    theta0 = student.initial()

    def loss_at(xx, ll):
        return final(unroll.train(theta0, xx, y, ll, steps)).item()

    for memory in ("plain", "constant"):
        _, gx, glr = unroll.gradients(theta0, x, y, lrs, steps, final, memory)
        eps = 1e-6
        xp, xm = x.clone(), x.clone()
        xp[4, 0, 1, 2] += eps
        xm[4, 0, 1, 2] -= eps
        assert gx[4, 0, 1, 2].item() == pytest.approx((loss_at(xp, lrs) - loss_at(xm, lrs)) / (2 * eps), rel=1e-5)
        lp, lm = lrs.clone(), lrs.clone()
        lp[1] += eps
        lm[1] -= eps
        assert glr[1].item() == pytest.approx((loss_at(x, lp) - loss_at(x, lm)) / (2 * eps), rel=1e-5)


def test_chunked_real_loss_gives_the_whole_batch_gradient():
    """The constant mode takes the real batch's loss gradient in chunks (7 of 20, uneven): the same gradients
    as the plain mode on the whole batch, in float64; a BatchNorm network is never chunked."""
    student, unroll, x, y, xr, yr = _mlp_problem("chunk")
    lrs = torch.tensor([0.3, 0.2], dtype=torch.float64)
    steps = [Step(torch.tensor([0, 1, 2]), 0), Step(torch.tensor([3, 4, 5]), 1)]
    theta0 = student.initial()
    lp, gxp, glp = unroll.gradients(theta0, x, y, lrs, steps, BatchLoss(student, xr, yr), "plain")
    lc, gxc, glc = unroll.gradients(theta0, x, y, lrs, steps, BatchLoss(student, xr, yr, chunk=7), "constant")
    assert lc == pytest.approx(lp, rel=1e-12)
    assert torch.allclose(gxc, gxp, rtol=1e-10, atol=1e-14) and torch.allclose(glc, glp, rtol=1e-10, atol=1e-14)
    assert gxp.abs().sum() > 0 and glp.abs().sum() > 0
    bn = FlatNet(create_model("convnet", 1, 3, (8, 8), norm="batchnorm", generator=make_generator(0, "bn")))
    assert BatchLoss(bn, xr, yr, chunk=7).chunk == 0


def test_constant_memory_gives_the_plain_gradient(digits):
    plain, const = _dd(digits, 2, memory="plain", init="random"), _dd(digits, 2, memory="constant", init="random")
    lp = plain.step(0, make_generator(0, "step", 0))["loss"]
    lc = const.step(0, make_generator(0, "step", 0))["loss"]
    assert lp == pytest.approx(lc, rel=1e-6)
    assert plain.syn.grad.abs().sum() > 0  # the gradients the Adam step used are still in .grad
    for a, b in ((const.syn.grad, plain.syn.grad), (const.raw_lr.grad, plain.raw_lr.grad)):
        assert (a - b).norm() <= 5e-4 * b.norm()  # float32 rounding only (float64 agrees to 1e-15)


def test_fixed_init_beats_random_real_with_the_same_steps(digits):
    """10 images, 1 step x 3 epochs from the fixed theta_0, against random real images trained from the same
    theta_0 with the same 3 steps at the best of a learning-rate grid (the paper's baseline rule)."""
    syn = distill(digits, "dd", ipc=1, iterations=200, model="mlp", init="fixed", lr=0.05, lr_init=0.1,
                  batch_real=256)
    assert syn.lrs.shape == (3,) and (syn.lrs > 0).all() and not torch.allclose(syn.lrs, torch.full((3,), 0.1))
    ours = evaluate(syn, digits, model="mlp").accs
    assert len(ours) == 1  # the fixed network itself
    from datadistill import random_real

    real = random_real(digits, 1, 0)
    real.schedule, real.extra = syn.schedule, syn.extra
    best = max(evaluate(real_with(real, lr), digits, model="mlp").mean for lr in (0.01, 0.03, 0.1, 0.3, 1.0))
    assert ours[0] > best + 10, (ours, best)


def real_with(real, lr):
    real.lrs = torch.full((3,), lr)
    return real


def test_poisoning_makes_held_out_networks_call_k_t(digits, tmp_path):
    buf = train_experts(digits, ExpertConfig(model="mlp", epochs=5, dsa=False, precision="fp32", lr=0.05,
                                             momentum=0.9), tmp_path / "pre", num=5)
    kw = dict(init="random_pretrained", pretrained_dir=str(buf.path), heldout=2, steps=1, epochs=1,
              objective="poison", poison_source=3, poison_target=8, lr_init=0.1, lr=0.05, batch_real=512)
    syn = distill(digits, "dd", ipc=1, iterations=100, model="mlp", **kw)
    res = evaluate(syn, digits, model="mlp", runs=2)
    assert len(res.accs) == 2  # the two held-out networks
    fooled = res.config["k_as_t"]
    assert min(fooled) > 50, fooled
    assert min(res.accs) > 50  # the other classes keep working


def test_default_length_and_bad_options(digits):
    m = _dd(digits, 10)
    assert m.steps == 10 and m.per_step == 1 and m.default_iterations == 400 * math.ceil(len(digits.train) / 1024)
    from datadistill.errors import ConfigError

    with pytest.raises(ConfigError, match="not a multiple of steps"):
        _dd(digits, 10, steps=3)
    with pytest.raises(ConfigError, match="needs pretrained_dir"):
        _dd(digits, 1, init="fixed_pretrained")


def test_fixed_pretrained_adapts_a_network_to_a_new_domain(digits, tmp_path):
    """Domain adaptation (DD paper, Table 2): distil the target domain for the source-trained network itself."""
    from datadistill.evaluate.train import test_accuracy
    from datadistill.models.flat import FlatLayout

    buf = train_experts(digits, ExpertConfig(model="mlp", epochs=5, dsa=False, precision="fp32", lr=0.05,
                                             momentum=0.9), tmp_path / "pre", num=1)
    target = digits.map_images(lambda x: -x)  # the same digits with ink and background swapped: another domain
    theta = buf.snapshots(0, [buf.epochs])[0]
    net = create_model("mlp", 1, 10, digits.info.im_size)
    before = test_accuracy(FlatLayout.of(net).load_into(net, theta), target.test)
    syn = distill(target, "dd", ipc=1, iterations=100, model="mlp", init="fixed_pretrained",
                  pretrained_dir=str(buf.path), heldout=0, steps=1, epochs=1, lr_init=0.1, lr=0.05, batch_real=512)
    assert torch.equal(syn.extra["init_params"], theta)  # the artifact carries the network it adapts
    res = evaluate(syn, target, model="mlp")
    assert len(res.accs) == 1  # replayed from that one network
    assert res.accs[0] > before + 20, (before, res.accs)
