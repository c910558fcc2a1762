"""Calibration data straight into a quantizer's Python API, without writing files.

Each adapter takes a Dataset (from `generate`) or the folder a dataset was saved to, and yields the
model input exactly as the toolchain wants it (layout, batch dimension, input name).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from onnx_datagen.data.dataset import Dataset
from onnx_datagen.deps import require
from onnx_datagen.exporters.openvino import NNCF_ACTIVATION_BITS

log = logging.getLogger("onnx_datagen")


def _dataset(data: Dataset | str | Path) -> Dataset:
    return data if isinstance(data, Dataset) else Dataset.load(data)


def as_ort_reader(data: Dataset | str | Path, batch_size: int | None = None):
    """An onnxruntime CalibrationDataReader (with __len__ and set_range) for quantize_static.

    batch_size: images per run; default the model's fixed batch, else 1. Also fits Vitis AI and Quark.
    """
    ort_quantization = require("onnxruntime.quantization")
    from onnx_datagen.quant.quantize import ImageBatchReader

    # A virtual subclass, so tools that check isinstance(reader, CalibrationDataReader) accept it
    # (ours stays importable without onnxruntime).
    ort_quantization.CalibrationDataReader.register(ImageBatchReader)

    dataset = _dataset(data)
    images = np.concatenate(dataset.feed_batches())  # drops what does not fill a fixed batch
    return ImageBatchReader(dataset.input_name, images, dataset.input_batch or batch_size or 1)


def as_nncf_dataset(data: Dataset | str | Path):
    """An nncf.Dataset of {input_name: array} feeds; works for nncf.quantize on ONNX and OpenVINO models.

    Logs a warning for a set made --for w8a4: NNCF's presets quantize activations to 8 bits, and its default range
    (the mean over samples of each sample's min and max) shrinks with the penalised tails
    (benchmarks/results/TAILS.md)."""
    nncf = require("nncf")
    dataset = _dataset(data)
    warning = dataset.made_for.mismatch(NNCF_ACTIVATION_BITS, "this dataset") if dataset.made_for else None
    if warning:
        log.warning("%s", warning)
    name = dataset.input_name
    return nncf.Dataset(dataset.feed_batches(), lambda x: {name: x})


def as_tflite_representative_dataset(data: Dataset | str | Path) -> Callable[[], Iterator[list[np.ndarray]]]:
    """A TFLiteConverter.representative_dataset: yields [1 x H x W x C float32] (TensorFlow is NHWC)."""
    nhwc = np.ascontiguousarray(_dataset(data).images.transpose(0, 2, 3, 1), dtype=np.float32)

    def representative_dataset() -> Iterator[list[np.ndarray]]:
        for image in nhwc:
            yield [image[None]]

    return representative_dataset


def as_mct_representative_data_gen(
    data: Dataset | str | Path, batch_size: int = 32
) -> Callable[[], Iterator[list[np.ndarray]]]:
    """Sony MCT's representative_data_gen: yields [batch] in the model's layout, every image once."""
    images = _dataset(data).model_input()

    def representative_data_gen() -> Iterator[list[np.ndarray]]:
        for start in range(0, len(images), batch_size):
            yield [images[start : start + batch_size]]

    return representative_data_gen
