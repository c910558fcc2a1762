"""Hailo Dataflow Compiler: NHWC raw 0-255 pixels in one .npy, plus the normalization line for the model script."""

from __future__ import annotations

from pathlib import Path

from onnx_datagen.exporters import ExporterSpec, Written
from onnx_datagen.exporters._common import color, numbers, pixel_entry, pixel_normalization, save_text

from onnx_datagen.files import write_npy_chunks

SPEC = ExporterSpec(
    "hailo",
    "Hailo DFC: calib_nhwc.npy of raw 0-255 pixels (float32 NHWC, model's colour order) + .alls normalization",
    "hailo",
    pixels=True,
)
FILE = "calib_nhwc.npy"
SCRIPT = "normalization.alls"
RECOMMENDED = 1024  # Hailo's fine-tuning optimisation levels want this many


def export(dataset, folder: Path) -> Written:
    # Hailo normalises inside the compiled model (the model script's normalization layer), so the
    # calibration set is what the camera delivers: 8-bit pixels, stored as float32.
    n, c, h, w = dataset.images.shape
    write_npy_chunks(folder / FILE, dataset.pixel_chunks(model_order=True), (n, h, w, c))
    norm = pixel_normalization(dataset)
    line = f"normalization1 = normalization({numbers(norm['mean_255'])}, {numbers(norm['std_255'])})\n"
    save_text(folder / SCRIPT, line)
    size = ""
    if n < RECOMMENDED:
        size = (
            f"\nOnly {n} images: Hailo's optimisation levels with fine-tuning want {RECOMMENDED}; "
            f"generate more with `datagen generate ... -n {RECOMMENDED}`.\n"
        )
    where, order = folder.resolve(), color(dataset, model_order=True)
    usage = f"""# Hailo Dataflow Compiler

`{FILE}` holds {n} images as raw {order} pixels 0-255 (float32, N x H x W x C), the model's colour order.
The model script must normalise them, with the line in `{SCRIPT}`:

    {line.strip()}
{size}
```python
import numpy as np
from hailo_sdk_client import ClientRunner

runner = ClientRunner(har="model.har")
runner.load_model_script(open("{where / SCRIPT}").read())
runner.optimize(np.load("{where / FILE}"))
runner.save_har("model_quantized.har")
```

or `hailo optimize model.har --calib-set-path {where / FILE} --model-script {where / SCRIPT}`.
If your model script has no normalization layer, export `--to tflite` instead (normalised NHWC floats).
"""
    entry = pixel_entry(dataset, [n, h, w, c], "NHWC", "float32", model_order=True)
    entry["model_script_line"] = line.strip()
    return Written([FILE, SCRIPT], entry, usage)
