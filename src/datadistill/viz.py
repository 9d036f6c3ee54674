"""Image grids and image-folder export (matplotlib's PNG writer; no torchvision)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def grid_array(images01: torch.Tensor, labels: torch.Tensor, scale: int = 1) -> np.ndarray:
    """H x W x 3 uint8 grid: one row per class, images of that class left to right, 1-pixel gaps."""
    classes = sorted(set(labels.tolist()))
    per_row = max(int((labels == c).sum()) for c in classes)
    n, ch, h, w = images01.shape
    grid = np.ones(((h + 1) * len(classes) + 1, (w + 1) * per_row + 1, 3), dtype=np.float32)
    x = images01.detach().cpu().float().numpy()
    x = np.repeat(x, 3, axis=1) if ch == 1 else x[:, :3]
    for r, c in enumerate(classes):
        for k, i in enumerate(torch.nonzero(labels == c).flatten().tolist()):
            top, left = r * (h + 1) + 1, k * (w + 1) + 1
            grid[top:top + h, left:left + w] = x[i].transpose(1, 2, 0)
    grid = np.kron(grid, np.ones((scale, scale, 1), dtype=np.float32)) if scale > 1 else grid
    return (grid.clip(0, 1) * 255).round().astype(np.uint8)


def save_grid(images01: torch.Tensor, labels: torch.Tensor, path: Path, scale: int = 4) -> Path:
    """Write the grid of grid_array as a PNG."""
    import matplotlib.image as mpimg

    path.parent.mkdir(parents=True, exist_ok=True)
    mpimg.imsave(path, grid_array(images01, labels, scale))
    return path


def save_image_folder(images01: torch.Tensor, labels: torch.Tensor, folder: Path,
                      class_names: tuple[str, ...]) -> Path:
    """One PNG per image in folder/<class name>/<index>.png."""
    import matplotlib.image as mpimg

    x = images01.detach().cpu().float().numpy()
    for i, (img, y) in enumerate(zip(x, labels.tolist())):
        sub = folder / class_names[y]
        sub.mkdir(parents=True, exist_ok=True)
        arr = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
        mpimg.imsave(sub / f"{i:05d}.png", arr.clip(0, 1), cmap="gray" if img.shape[0] == 1 else None,
                     vmin=0, vmax=1)
    return folder
