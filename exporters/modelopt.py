"""TensorRT Model Optimizer (ModelOpt) ONNX PTQ: one stacked calib.npy for --calibration_data_path."""

from __future__ import annotations

from pathlib import Path

from onnx_datagen.exporters import ExporterSpec, Written
from onnx_datagen.exporters._common import stacked_model_input

SPEC = ExporterSpec(
    "modelopt", "TensorRT ModelOpt: calib.npy, all images stacked N x C x H x W for --calibration_data_path", "modelopt"
)
FILE = "calib.npy"


def export(dataset, folder: Path) -> Written:
    entry = stacked_model_input(dataset, folder / FILE)
    path = folder.resolve() / FILE
    usage = f"""# TensorRT Model Optimizer (ONNX PTQ)

`{FILE}` stacks {entry["n_images"]} model inputs ({dataset.input_layout}, float32, normalised). ModelOpt splits
it into runs of the model's batch size; without calibration data it would calibrate on random data.

```bash
python -m modelopt.onnx.quantization --onnx_path model.onnx --quantize_mode int8 \\
    --calibration_data_path {path} --calibration_eps cpu --output_path model.quant.onnx
```

ModelOpt rewrites the ONNX file it is given (shape inference in place): pass a copy. Its output is
a Q/DQ model for TensorRT's explicit quantization (the only INT8 path in TensorRT 11), fp16 outside
the Q/DQ pairs unless `--high_precision_dtype fp32`. The number of images is a multiple of the
model's batch, as ModelOpt's even split needs. A multi-input model would need an .npz keyed by input
name; datagen datasets have one input, `{dataset.input_name}`.
"""
    return Written([FILE], entry, usage)
