"""png/NNNNNN.png: de-normalised 8-bit images written with OpenCV (RGB, or grayscale for 1 channel)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx_datagen.exporters import ExportResult

from onnx_datagen.deps import require
from onnx_datagen.errors import OutputError
from onnx_datagen.files import atomic_write_bytes

FOLDER = "png"


def export(dataset, out_dir: Path) -> ExportResult:
    cv2 = require("cv2")
    pixels, clipped = dataset.to_pixels()
    files = []
    for i, image in enumerate(pixels):
        name = f"{FOLDER}/{i:06d}.png"
        bgr = image[:, :, ::-1] if image.shape[2] == 3 else image[:, :, 0]  # OpenCV stores BGR
        ok, encoded = cv2.imencode(".png", np.ascontiguousarray(bgr))
        if not ok:
            raise OutputError(f"OpenCV could not encode {name}")
        atomic_write_bytes(out_dir / name, encoded.tobytes())
        files.append(name)
    entry = {
        "layout": "HWC",
        "dtype": "uint8",
        "color": "RGB" if pixels.shape[-1] == 3 else "GRAY",
        "value_space": "pixels",
        "value_range": [0, 255],
        "clipped_fraction": clipped,
        "mean": list(dataset.mean),
        "std": list(dataset.std),
        "pixel_scale": dataset.pixel_scale,
    }
    return ExportResult(files, entry)


def read_pngs(paths: list[Path]) -> np.ndarray:
    """N x H x W x C uint8 RGB (or 1-channel) pixels, as written by export()."""
    cv2 = require("cv2")
    images = []
    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise OutputError(f"cannot read {path} as an image")
        images.append(image[:, :, ::-1] if image.ndim == 3 else image[:, :, None])
    return np.stack(images)
