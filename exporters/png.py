"""png/NNNNNN.png: de-normalised 8-bit images written with OpenCV (RGB, or grayscale for 1 channel)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from onnx_datagen.exporters import ExporterSpec, Written
from onnx_datagen.exporters._common import pixel_entry

from onnx_datagen.deps import require
from onnx_datagen.errors import OutputError
from onnx_datagen.files import atomic_write_bytes

SPEC = ExporterSpec(
    "png",
    "png/NNNNNN.png: de-normalised 8-bit RGB (or grayscale) images, for people and image tools",
    "png",
    pixels=True,
    bytes_per_value=1,  # deflate can grow noise-like pixels by a few bytes: FILE_SLACK covers it
    file_per_image=True,
)


def export(dataset, folder: Path) -> Written:
    files = write_pngs(folder, dataset.pixel_chunks())
    _, c, h, w = dataset.images.shape
    return Written(files, pixel_entry(dataset, [h, w, c], "HWC", "uint8"))


def write_pngs(folder: Path, chunks: Iterable[np.ndarray], sub: str = "") -> list[str]:
    """Chunks of N x H x W x C uint8 RGB (or 1-channel) pixels as NNNNNN.png files; returns their relative names."""
    files = []
    for image in (image for chunk in chunks for image in chunk):
        name = f"{sub}/{len(files):06d}.png" if sub else f"{len(files):06d}.png"
        write_png(folder / name, image)
        files.append(name)
    return files


def write_png(path: Path, image: np.ndarray) -> None:
    """One H x W x C uint8 RGB (or 1-channel) image as a PNG file."""
    cv2 = require("cv2")
    bgr = image[:, :, ::-1] if image.shape[2] == 3 else image[:, :, 0]  # OpenCV stores BGR
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(bgr))
    if not ok:
        raise OutputError(f"OpenCV could not encode {path}")
    atomic_write_bytes(path, encoded.tobytes())


def read_pngs(paths: list[Path]) -> np.ndarray:
    """N x H x W x C uint8 RGB (or 1-channel) pixels, as written by write_pngs()."""
    cv2 = require("cv2")
    images = []
    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise OutputError(f"cannot read {path} as an image")
        images.append(image[:, :, ::-1] if image.ndim == 3 else image[:, :, None])
    return np.stack(images)
