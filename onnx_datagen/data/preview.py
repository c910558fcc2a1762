"""preview.png: a contact sheet of a dataset's first images, because people look before they trust."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from onnx_datagen.exporters.png import write_png

PREVIEW = "preview.png"
PREVIEW_IMAGES = 64  # at most an 8 x 8 grid
MIN_TILE = 64  # small images (16x16, 32x32) are enlarged, pixel for pixel, to at least this side
GAP = 2  # pixels of white between tiles


def contact_sheet(pixels: np.ndarray) -> np.ndarray:
    """N x H x W x C uint8 images as one grid image (H' x W' x C), row-major, enlarged by an integer factor."""
    n, h, w, c = pixels.shape
    scale = max(1, math.ceil(MIN_TILE / max(h, w)))
    tiles = pixels.repeat(scale, axis=1).repeat(scale, axis=2)
    th, tw = h * scale, w * scale
    columns = math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    sheet = np.full((rows * th + (rows - 1) * GAP, columns * tw + (columns - 1) * GAP, c), 255, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        top, left = (i // columns) * (th + GAP), (i % columns) * (tw + GAP)
        sheet[top : top + th, left : left + tw] = tile
    return sheet


def first_pixels(dataset, count: int = PREVIEW_IMAGES) -> np.ndarray:
    """The dataset's first `count` images as 8-bit pixels, reading no further than needed."""
    taken, have = [], 0
    for chunk in dataset.pixel_chunks():
        taken.append(chunk[: count - have])
        have += len(taken[-1])
        if have >= count:
            break
    return np.concatenate(taken)


def write_preview(dataset, folder: Path) -> str:
    """Write preview.png into `folder`; returns its name."""
    write_png(folder / PREVIEW, contact_sheet(first_pixels(dataset)))
    return PREVIEW
