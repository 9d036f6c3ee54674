"""ZCA whitening: exact round trip, whitened statistics, stored with the set, applied at evaluation."""
import pytest
import torch

from datadistill import distill, evaluate
from datadistill.augment.zca import ZCA, zca_transform
from datadistill.errors import ConfigError
from datadistill.evaluate import EvalSpec, evaluate_tensors, get_protocol
from datadistill.synthetic import SyntheticSet


def test_round_trip_and_whitened_covariance(digits):
    x = digits.train.images
    zca = ZCA.fit(x, eps=0.1)
    z = zca.transform(x)
    torch.testing.assert_close(zca.inverse(z), x, rtol=1e-4, atol=1e-4)
    flat = z.reshape(len(z), -1).double()
    cov = torch.cov(flat.T)
    # eigenvalues of the whitened covariance are S / (S + eps): in [0, 1), near 1 for the strong directions
    ev = torch.linalg.eigvalsh(cov)
    want = (zca.eigvals.double() / (zca.eigvals.double() + 0.1)).sort().values
    torch.testing.assert_close(ev, want, rtol=1e-3, atol=1e-4)
    assert flat.mean(0).abs().max() < 1e-4


def test_tensors_round_trip_and_shape_check(digits, tmp_path):
    zca = ZCA.fit(digits.train.images)
    back = ZCA.from_tensors(zca.to_tensors())
    assert back.fingerprint() == zca.fingerprint() and back.eps == 0.1
    with pytest.raises(ConfigError, match="fitted on 64 features"):
        zca.transform(torch.zeros(2, 1, 28, 28))
    with pytest.raises(ConfigError, match="missing eps"):
        ZCA.from_tensors({k: v for k, v in zca.to_tensors().items() if k != "eps"})


def test_zca_run_stores_the_transform_and_evaluate_whitens_the_test_set(digits, tmp_path):
    syn = distill(digits, "dm", ipc=1, iterations=5, zca=0.1, out=tmp_path / "z")
    loaded = SyntheticSet.load(tmp_path / "z")
    assert set(loaded.zca) == {"mean", "eigvecs", "eigvals", "eps"}
    torch.testing.assert_close(loaded.images01(), syn.images01())
    proto = get_protocol("dc2021", epochs=30)
    got = evaluate(loaded, digits, runs=1, protocol=proto, seed=0)
    spec = EvalSpec("convnet", proto, runs=1, seed=0)
    white = digits.test.map_images(lambda x: zca_transform(x, loaded.zca))
    want = evaluate_tensors(loaded.images, loaded.labels, digits.info, white, spec)
    raw = evaluate_tensors(loaded.images, loaded.labels, digits.info, digits.test, spec)
    assert got.accs == want.accs and got.accs != raw.accs
