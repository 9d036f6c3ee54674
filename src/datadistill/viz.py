"""Image grids and image-folder export (a small standard-library PNG writer: no torchvision, no matplotlib).

matplotlib stays out of the distill path on purpose: two fresh processes of a torchrun job importing its C
extensions at once has aborted a run here (ImportError in ft2font, then a fatal GIL error).
"""
from __future__ import annotations

import struct
import zlib
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
    return to_uint8(grid)


def write_png(path: Path, pixels: np.ndarray) -> Path:
    """Write an H x W (grey) or H x W x 3 (RGB) uint8 array as an 8-bit PNG."""
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise ValueError(f"write_png needs H x W or H x W x 3 uint8 pixels, got {pixels.dtype} {pixels.shape}")
    h, w = pixels.shape[:2]
    colour = 0 if pixels.ndim == 2 else 2
    rows = np.ascontiguousarray(pixels).reshape(h, -1)
    raw = np.concatenate([np.zeros((h, 1), dtype=np.uint8), rows], axis=1).tobytes()  # filter 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
                     + chunk(b"IEND", b""))
    return path


def to_uint8(x: np.ndarray) -> np.ndarray:
    """[0, 1] floats to 0..255 bytes (rounded, clipped)."""
    return (np.clip(x, 0, 1) * 255).round().astype(np.uint8)


def save_grid(images01: torch.Tensor, labels: torch.Tensor, path: Path, scale: int = 4) -> Path:
    """Write the grid of grid_array as a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_png(path, grid_array(images01, labels, scale))


def save_image_folder(images01: torch.Tensor, labels: torch.Tensor, folder: Path,
                      class_names: tuple[str, ...]) -> Path:
    """One PNG per image in folder/<class name>/<index>.png (grey for one channel, RGB otherwise)."""
    x = images01.detach().cpu().float().numpy()
    for i, (img, y) in enumerate(zip(x, labels.tolist())):
        sub = folder / class_names[y]
        sub.mkdir(parents=True, exist_ok=True)
        arr = img[0] if img.shape[0] == 1 else img[:3].transpose(1, 2, 0)
        write_png(sub / f"{i:05d}.png", to_uint8(arr))
    return folder
