"""OpenVINO / NNCF: one .npy per model run, fed to nncf.quantize through nncf.Dataset (ONNX or OpenVINO IR)."""

from __future__ import annotations

from pathlib import Path

from onnx_datagen.exporters import ExporterSpec, Written
from onnx_datagen.exporters._common import model_input_entry, write_npy_samples

NNCF_ACTIVATION_BITS = 8  # nncf.quantize's presets (performance, mixed) quantize activations to INT8

SPEC = ExporterSpec(
    "openvino",
    "OpenVINO/NNCF: samples/*.npy per model run + the nncf.quantize call for ONNX and IR models",
    "openvino",
    file_per_image=True,
    activation_bits=NNCF_ACTIVATION_BITS,
)


def export(dataset, folder: Path) -> Written:
    batches = dataset.feed_batches()
    files, value_range = write_npy_samples(folder, batches)
    where = folder.resolve() / "samples"
    usage = f"""# OpenVINO / NNCF

`samples/` holds {len(files)} model inputs ({dataset.input_layout}, float32, normalised as the model expects,
batch dimension included). NNCF uses only `subset_size` items (default 300): pass the number of samples.
Its presets quantize activations to {NNCF_ACTIVATION_BITS} bits.

```python
import glob

import nncf
import numpy as np
import openvino as ov

samples = [np.load(f) for f in sorted(glob.glob("{where}/*.npy"))]
dataset = nncf.Dataset(samples, lambda x: {{"{dataset.input_name}": x}})

# OpenVINO IR (or the ONNX file, read by OpenVINO):
model = ov.Core().read_model("model.xml")
quantized = nncf.quantize(model, dataset, subset_size=len(samples))
ov.save_model(quantized, "model_int8.xml")

# or the ONNX model itself, quantized by NNCF's ONNX backend (opset >= 13):
import onnx
quantized = nncf.quantize(onnx.load("model.onnx"), dataset, subset_size=len(samples))
onnx.save(quantized, "model_int8.onnx")
```

Without files: `onnx_datagen.quant.adapters.as_nncf_dataset("DATASET_DIR")`.
"""
    return Written(files, model_input_entry(dataset, batches[0].shape, len(files), value_range), usage)
