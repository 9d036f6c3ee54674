"""PNG writing: exact round trips through Pillow, and no matplotlib on the distill path."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from datadistill.viz import grid_array, save_image_folder, write_png


@pytest.mark.parametrize("shape", [(5, 7), (4, 6, 3)])
def test_png_round_trip_is_exact(tmp_path, shape) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    with Image.open(write_png(tmp_path / "x.png", pixels)) as img:
        assert np.array_equal(np.asarray(img), pixels)


def test_png_writer_refuses_floats(tmp_path) -> None:
    with pytest.raises(ValueError, match="uint8"):
        write_png(tmp_path / "x.png", np.zeros((3, 3)))


def test_image_folder_keeps_every_pixel_to_the_byte(tmp_path) -> None:
    images = torch.rand(4, 1, 6, 6, generator=torch.Generator().manual_seed(1))
    save_image_folder(images, torch.tensor([0, 1, 0, 1]), tmp_path, ("a", "b"))
    with Image.open(tmp_path / "b" / "00003.png") as img:
        back = np.asarray(img)
    assert np.array_equal(back, (images[3, 0].numpy() * 255).round().astype(np.uint8))


def test_grid_has_one_row_per_class() -> None:
    grid = grid_array(torch.zeros(6, 3, 4, 4), torch.tensor([0, 0, 1, 1, 2, 2]))
    assert grid.shape == (3 * 5 + 1, 2 * 5 + 1, 3) and grid[0, 0, 0] == 255 and grid[1, 1, 0] == 0


def test_a_distill_run_does_not_import_matplotlib(tmp_path) -> None:
    code = ("import sys; from datadistill.cli.main import app; "
            f"app(['distill', '--method', 'dm', '--dataset', 'digits', '--ipc', '1', '--iterations', '2', '--out', r'{tmp_path}', "
            "'--final-eval', '0', '--no-compare-random', '--device', 'cpu'], standalone_mode=False); "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "grid.png").exists()
