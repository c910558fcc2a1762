"""AMD Quark ONNX: a folder of per-sample .npy files, as its calibration_data_path reads them."""

from __future__ import annotations

from pathlib import Path

from onnx_datagen.exporters import ExporterSpec, Written
from onnx_datagen.exporters._common import model_input_entry, write_npy_samples

SPEC = ExporterSpec(
    "quark",
    "AMD Quark: NNNNNN.npy per model run, the folder its calibration_data_path takes",
    "quark",
    file_per_image=True,
)


def export(dataset, folder: Path) -> Written:
    batches = dataset.feed_batches()
    files, value_range = write_npy_samples(folder, batches, sub="")
    usage = f"""# AMD Quark (ONNX)

This folder holds {len(files)} model inputs as .npy files ({dataset.input_layout}, float32, normalised,
batch dimension included), the layout Quark's `calibration_data_path` reads for a single-input model
(no preprocessing is applied after loading).

```python
import copy

from quark.onnx import A8W8_QCONFIG, ModelQuantizer

quantizer = ModelQuantizer(copy.deepcopy(A8W8_QCONFIG))  # XINT8_QCONFIG for Ryzen AI NPUs
quantizer.quantize_model("model.onnx", "model_quantized.onnx", calibration_data_path="{folder.resolve()}")
```

Quark reads every .npy here (in no particular order: calibration does not depend on it) and casts
to the model's input type. The same data through a reader: `datagen export --to onnxruntime`.
"""
    return Written(files, model_input_entry(dataset, batches[0].shape, len(files), value_range), usage)
