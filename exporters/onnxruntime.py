"""ONNX Runtime quantize_static (and Vitis AI, Quark, TIDL): .npy per model run + a CalibrationDataReader script."""

from __future__ import annotations

from pathlib import Path

from onnx_datagen.exporters import ExporterSpec, Written
from onnx_datagen.exporters._common import model_input_entry, save_text, write_npy_samples

SPEC = ExporterSpec(
    "onnxruntime",
    "ONNX Runtime quantize_static (also Vitis AI, Quark, TIDL): samples/*.npy + calibration_reader.py",
    "onnxruntime",
    file_per_image=True,
)
READER = "calibration_reader.py"

# Standalone on purpose: the machine that quantizes may not have onnx-datagen installed.
READER_SOURCE = '''"""CalibrationDataReader over the .npy model inputs of `datagen export --to onnxruntime`."""

import glob
import os

import numpy as np
from onnxruntime.quantization import CalibrationDataReader

HERE = os.path.dirname(os.path.abspath(__file__))


class NpyFolderReader(CalibrationDataReader):
    """Feeds each samples/*.npy (batch dimension included) as {input_name: array}, in file order.

    __len__ and set_range let quantize_static calibrate in chunks (extra_options={"CalibStridedMinMax": k}).
    """

    def __init__(self, folder=os.path.join(HERE, "samples"), input_name=%(input)r):
        self.files = sorted(glob.glob(os.path.join(folder, "*.npy")))
        if not self.files:
            raise FileNotFoundError(f"no .npy files in {folder}")
        self.input_name = input_name
        self.set_range(0, len(self.files))

    def __len__(self):
        return len(self.files)

    def set_range(self, start_index, end_index):
        self._next, self._end = start_index, min(end_index, len(self.files))

    def get_next(self):
        if self._next >= self._end:
            return None
        self._next += 1
        return {self.input_name: np.load(self.files[self._next - 1])}

    def rewind(self):
        self.set_range(0, len(self.files))
'''


def export(dataset, folder: Path) -> Written:
    batches = dataset.feed_batches()
    files, value_range = write_npy_samples(folder, batches)
    save_text(folder / READER, READER_SOURCE % {"input": dataset.input_name})
    where = folder.resolve()
    usage = f"""# ONNX Runtime static quantization

`samples/` holds {len(files)} model inputs ({dataset.input_layout}, float32, normalised, batch dimension
included); `{READER}` reads them as a `CalibrationDataReader` (with `__len__`/`set_range`).

```python
import sys

from onnxruntime.quantization import QuantFormat, quantize_static

sys.path.insert(0, "{where}")
from calibration_reader import NpyFolderReader

quantize_static("model.onnx", "model.qdq.onnx", NpyFolderReader(), quant_format=QuantFormat.QDQ, per_channel=True)
```

The same reader is what Vitis AI (`vai_q_onnx.quantize_static`), AMD Quark
(`ModelQuantizer.quantize_model(..., calibration_data_reader=NpyFolderReader())`) and TI TIDL
(calibration frames) take. Without files: `onnx_datagen.quant.adapters.as_ort_reader("DATASET_DIR")`.
"""
    return Written([*files, READER], model_input_entry(dataset, batches[0].shape, len(files), value_range), usage)
