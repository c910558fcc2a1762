"""images.npy: the exact optimised values, stacked, in model-input space."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx_datagen.exporters import ExportResult

from onnx_datagen.files import atomic_write

FILE = "images.npy"


def export(dataset, out_dir: Path) -> ExportResult:
    images = np.ascontiguousarray(dataset.images, dtype=np.float32)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.save(f, images)

    atomic_write(out_dir / FILE, write)
    entry = {
        "layout": "NCHW",
        "dtype": "float32",
        "shape": list(images.shape),
        "value_space": "model-input",
        "value_range": [float(images.min()), float(images.max())] if images.size else None,
    }
    return ExportResult([FILE], entry)
