"""Shared fixtures: the embedded digits data and the location of ../shared/data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from datadistill.data import load_dataset

torch.set_num_threads(min(2, os.cpu_count() or 1))


def shared_data_root() -> Path:
    """../shared/data (or $DATADISTILL_SHARED/data)."""
    base = os.environ.get("DATADISTILL_SHARED")
    return (Path(base) if base else Path(__file__).resolve().parents[2] / "shared") / "data"


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits, split and normalised as the registry does."""
    return load_dataset("digits")
