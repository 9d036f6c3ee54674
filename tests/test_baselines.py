"""Baselines of DD's Table 1: class averages, k-means centroids, k-NN; they run and do what they say."""
import importlib
from dataclasses import replace

import pytest
import torch

from datadistill.baselines import class_average, kmeans, kmeans_centroids, knn_accuracy, random_real


def test_class_average_is_the_class_mean(digits):
    avg = class_average(digits, 1)
    for c, ix in enumerate(digits.train.class_indices):
        torch.testing.assert_close(avg.images[c], digits.train.images[ix].mean(0))
    assert class_average(digits, 3).images.shape == (30, 1, 8, 8)


def test_baselines_take_data_in_every_form_distill_takes(digits):
    """A dataset name or (x_train, y_train, x_test, y_test) arrays select the same images as loaded splits."""
    ref = random_real(digits, 2, seed=4)
    assert torch.equal(random_real("digits", 2, seed=4).images, ref.images)
    from datadistill.data import denormalize

    def pixels(split):
        return denormalize(split.images, digits.info.mean, digits.info.std).clamp(0, 1).numpy()

    arrays = (pixels(digits.train), digits.train.labels.numpy(), pixels(digits.test), digits.test.labels.numpy())
    assert torch.allclose(class_average(arrays, 1).images01(), class_average(digits, 1).images01(), atol=1e-5)


def test_kmeans_recovers_separated_clusters():
    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = torch.cat([c + 0.1 * torch.randn(40, 2, generator=gen) for c in centres])
    found = kmeans(x, 3, torch.Generator().manual_seed(1))
    assert torch.cdist(found, centres).min(0).values.max() < 0.1


def test_kmeans_set_and_knn_classify_digits(digits):
    km = kmeans_centroids(digits, 5, seed=0)
    assert km.images.shape == (50, 1, 8, 8) and km.labels.bincount().tolist() == [5] * 10
    test_x, test_y = digits.test.images, digits.test.labels
    acc_km = knn_accuracy(km, test_x, test_y, k=1, p=2)
    acc_rand = knn_accuracy(random_real(digits, 5, 0), test_x, test_y, k=1, p=2)
    assert acc_km > 80 and acc_km > acc_rand - 5
    assert 60 < knn_accuracy(km, test_x, test_y, k=3, p=1) <= 100


def test_whole_dataset_caches_each_model_and_trains_only_the_missing_ones(digits, tmp_path, monkeypatch):
    train_mod = importlib.import_module("datadistill.evaluate.train")  # the package name is also a function
    from datadistill.baselines import whole_dataset
    from datadistill.evaluate import EvalSpec, get_protocol

    spec = EvalSpec("convnet", get_protocol("quick", epochs=3), runs=1)
    first = whole_dataset(digits, spec, cache_dir=tmp_path)
    assert len((tmp_path / "whole.jsonl").read_text().splitlines()) == 1
    trained = []
    real = train_mod.train_network
    monkeypatch.setattr(train_mod, "train_network", lambda *a, **k: trained.append(1) or real(*a, **k))
    seen = []
    more = whole_dataset(digits, replace(spec, runs=2), cache_dir=tmp_path, on_model=lambda i, a: seen.append((i, a)))
    assert trained == [1] and more.accs[0] == first.accs[0] and more.config["cached_models"] == 1
    assert seen == [(1, more.accs[1])]  # told of the model it trained, not of the cached one
    fresh = whole_dataset(digits, replace(spec, runs=2))  # no cache: both models trained, the same accuracies
    assert fresh.accs == pytest.approx(more.accs, abs=1e-6)
    other = whole_dataset(digits, replace(spec, seed=1, runs=1), cache_dir=tmp_path)  # another key: trained
    assert len(trained) == 4 and other.config["cached_models"] == 0


def test_a_whole_dataset_model_stopped_mid_training_continues_from_its_last_epoch(digits, tmp_path, monkeypatch):
    train_mod = importlib.import_module("datadistill.evaluate.train")
    from datadistill.baselines import whole_dataset
    from datadistill.evaluate import EvalSpec, get_protocol

    spec = EvalSpec("mlp", get_protocol("quick", epochs=3, precision="fp32"), runs=1)
    real, saved = train_mod._save_progress, []

    def save_then_stop(file, net, opt, gen, epochs_done):
        real(file, net, opt, gen, epochs_done)
        saved.append(epochs_done)
        if epochs_done == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_mod, "_save_progress", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        whole_dataset(digits, spec, cache_dir=tmp_path)
    resumed = whole_dataset(digits, spec, cache_dir=tmp_path)
    assert saved == [1, 2, 3]  # the second call trained epoch 3 only
    assert resumed.config["resumed_epochs"] == {0: 2}  # and says so, for whoever reports its wall time
    assert resumed.accs == whole_dataset(digits, spec).accs  # as if never stopped
    assert (tmp_path / "whole.jsonl").exists() and not (tmp_path / "whole-progress").exists()  # done: no leftovers


def test_a_feature_recipe_names_the_network_and_how_it_trains(digits, tmp_path):
    from datadistill.baselines import feature_recipe, feature_source
    from datadistill.errors import ConfigError
    from datadistill.evaluate.protocols import lr_for_epoch

    toneva = feature_recipe("toneva-mnist")  # Toneva et al.'s run_mnist.py: small CNN, 200 epochs at lr 0.01
    p = toneva.protocol
    assert toneva.model == "lenet" and (p.epochs, p.momentum, p.weight_decay, p.batch_size) == (200, 0.5, 0.0, 64)
    assert lr_for_epoch(p, p.lr, p.epochs - 1) == lr_for_epoch(p, p.lr, 0) == 0.01  # constant lr
    short = feature_recipe("whole", epochs=2, augment="dc")
    assert (short.model, short.protocol.epochs, short.protocol.augment) == ("convnet", 2, "dc")
    assert feature_recipe("whole").protocol.augment == "none"
    for bad in ({"name": "nosuch"}, {"augment": "blur"}):
        with pytest.raises(ConfigError):
            feature_recipe(**{"name": "whole", **bad})
    mlp = replace(feature_recipe("toneva", epochs=1), model="mlp")  # LeNet needs more than 8x8 pixels
    source = feature_source(digits, mlp, seed=0, cache_dir=tmp_path)
    assert source.forgetting_counts().shape == (len(digits.train),)
    (cached,) = tmp_path.glob("*.safetensors")
    assert cached.name.startswith("digits_mlp_s0_")  # the recipe's network, trained and cached
