"""images.npy: the exact optimised values, stacked N x C x H x W, in model-input space (the dataset itself)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from onnx_datagen.exporters import ExporterSpec, Written
from onnx_datagen.exporters._common import model_input_entry

from onnx_datagen.files import ValueRange, atomic_write, write_npy_chunks

SPEC = ExporterSpec("npy", "images.npy: all images stacked, float32 N x C x H x W, model-input space (lossless)", "")
FILE = "images.npy"


def export(dataset, folder: Path) -> Written:
    shape = tuple(dataset.images.shape)
    if dataset.images_file is None:
        value_range = write_npy_chunks(folder / FILE, dataset.chunks(), shape)
    else:  # the images already are such a file (assembled from a run's groups): share it, or copy it
        atomic_write(folder / FILE, lambda tmp: _link_or_copy(dataset.images_file, tmp))
        seen = ValueRange()
        for chunk in dataset.chunks():
            seen.see(chunk)
        value_range = seen.bounds
    return Written([FILE], model_input_entry(dataset, shape, n_files=1, value_range=value_range, layout="NCHW"))


def _link_or_copy(source: Path, target: Path) -> None:
    target.unlink()
    try:
        os.link(source, target)  # no second copy on disk; the source is never written again
    except OSError:  # another file system, or one without hard links
        shutil.copyfile(source, target)
