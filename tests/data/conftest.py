"""Fixtures of the data tests: where the real dataset files are."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


def shared_data_dir() -> Path:
    """/work/shared/data (or $DATADISTILL_SHARED/data, or $DATADISTILL_SHARED itself): the real dataset files."""
    env = os.environ.get("DATADISTILL_SHARED")
    if env:
        return Path(env) / "data" if (Path(env) / "data").is_dir() else Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_root() -> Path:
    """The shared data folder; skips the test when it is absent."""
    root = shared_data_dir()
    if not root.is_dir():
        pytest.skip(f"real dataset files not found at {root} (set DATADISTILL_SHARED to their folder)")
    return root
