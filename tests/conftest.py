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
