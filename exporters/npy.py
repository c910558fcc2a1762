"""images.npy: the exact optimised values, stacked N x C x H x W, in model-input space (the dataset itself)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx_datagen.exporters import ExporterSpec, Written
from onnx_datagen.exporters._common import model_input_entry, save_npy

SPEC = ExporterSpec("npy", "images.npy: all images stacked, float32 N x C x H x W, model-input space (lossless)", "")
FILE = "images.npy"


def export(dataset, folder: Path) -> Written:
    images = np.ascontiguousarray(dataset.images, dtype=np.float32)
    save_npy(folder / FILE, images)
    entry = model_input_entry(dataset, [images], layout="NCHW")
    return Written([FILE], entry)
