"""Shared fixtures: the embedded digits data and the location of ../shared/data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from datadistill.data import load_dataset
from datadistill.runtime import setup_runtime

setup_runtime(min(2, os.cpu_count() or 1))  # as the CLI runs: threads, allocator tuning, denormal flushing


def shared_data_root() -> Path:
    """../shared/data (or $DATADISTILL_SHARED/data)."""
    base = os.environ.get("DATADISTILL_SHARED")
    return (Path(base) if base else Path(__file__).resolve().parents[2] / "shared") / "data"


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits, split and normalised as the registry does."""
    return load_dataset("digits")


@pytest.fixture(scope="session")
def digits_experts(digits, tmp_path_factory):
    """A small expert buffer on digits: 3 ConvNet experts x 4 epochs, float32, with DSA."""
    from datadistill.experts import ExpertConfig, train_experts

    out = tmp_path_factory.mktemp("experts")
    return train_experts(digits, ExpertConfig(epochs=4, precision="fp32", lr=0.01), out, num=3)


@pytest.fixture(scope="session")
def convnet_acc(digits):
    """The measure of the methods' learning tests: mean digits test accuracy of 2 ConvNets trained 150 epochs
    (the DC recipe, no augmentation) on a set, with evaluation seed `seed`."""
    from datadistill.evaluate import EvalSpec, Protocol, evaluate_tensors

    def acc(images, labels, seed: int) -> float:
        spec = EvalSpec("convnet", Protocol("test", epochs=150), runs=2, seed=seed)
        return evaluate_tensors(images, labels, digits.info, digits.test, spec).mean

    return acc


@pytest.fixture(scope="session")
def random_real_acc(digits, convnet_acc):
    """Their baseline: `convnet_acc` of the random real images at IPC 1 picked with `seed`; each seed is trained
    once per session and shared by DC, DSA, DM and MTT."""
    from datadistill import random_real

    known: dict[int, float] = {}

    def acc(seed: int) -> float:
        if seed not in known:
            real = random_real(digits, 1, seed)
            known[seed] = convnet_acc(real.images, real.labels, seed)
        return known[seed]

    return acc
