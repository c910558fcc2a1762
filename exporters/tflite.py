"""TFLite via onnx2tf: NHWC float32 .npy for its -cind calibration option, plus a representative-dataset script."""

from __future__ import annotations

from pathlib import Path

from onnx_datagen.exporters import ExporterSpec, Written
from onnx_datagen.exporters._common import model_input_entry, save_text

from onnx_datagen.files import write_npy_chunks

SPEC = ExporterSpec(
    "tflite",
    "TFLite/onnx2tf: calib_nhwc.npy (normalised float32 NHWC) for -cind + representative_dataset.py",
    "tflite",
)
FILE = "calib_nhwc.npy"
SCRIPT = "representative_dataset.py"

SCRIPT_SOURCE = '''"""representative_dataset for tf.lite.TFLiteConverter, from calib_nhwc.npy beside this file."""

import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def representative_dataset():
    """Yields [image] with image 1 x H x W x C float32, normalised as the model expects."""
    for image in np.load(os.path.join(HERE, "calib_nhwc.npy")):
        yield [image[None]]
'''


def export(dataset, folder: Path) -> Written:
    # TensorFlow models are NHWC whatever the ONNX layout was; the values stay normalised, so onnx2tf
    # is told mean 0 / std 1 (it applies (x - mean) / std to the -cind data itself).
    n, c, h, w = dataset.images.shape
    chunks = (chunk.transpose(0, 2, 3, 1) for chunk in dataset.chunks())
    value_range = write_npy_chunks(folder / FILE, chunks, (n, h, w, c))
    save_text(folder / SCRIPT, SCRIPT_SOURCE)
    zeros, ones = "[[[[" + ",".join(["0"] * c) + "]]]]", "[[[[" + ",".join(["1"] * c) + "]]]]"
    where = folder.resolve()
    usage = f"""# TensorFlow Lite (onnx2tf, TFLiteConverter)

`{FILE}` holds {n} images, float32 N x H x W x C, normalised as the model expects (so mean 0, std 1
below: onnx2tf applies (x - mean) / std to calibration data itself).

```bash
onnx2tf -i model.onnx -oiqt -cind {dataset.input_name} {where / FILE} "{zeros}" "{ones}"
```

With TensorFlow's converter on the converted SavedModel:

```python
import sys

import tensorflow as tf

sys.path.insert(0, "{where}")
from representative_dataset import representative_dataset

converter = tf.lite.TFLiteConverter.from_saved_model("saved_model")
converter.optimizations = [tf.lite.Optimize.DEFAULT]
converter.representative_dataset = representative_dataset
open("model_int8.tflite", "wb").write(converter.convert())
```

Without files: `onnx_datagen.quant.adapters.as_tflite_representative_dataset("DATASET_DIR")`.
"""
    return Written([FILE, SCRIPT], model_input_entry(dataset, (n, h, w, c), 1, value_range, layout="NHWC"), usage)
