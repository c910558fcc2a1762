"""Sony Model Compression Toolkit: calib.npy plus a representative_data_gen script for its PTQ APIs."""

from __future__ import annotations

from pathlib import Path

from onnx_datagen.exporters import ExporterSpec, Written
from onnx_datagen.exporters._common import save_text, stacked_model_input

SPEC = ExporterSpec("mct", "Sony MCT: calib.npy + representative_data.py defining representative_data_gen", "mct")
FILE = "calib.npy"
SCRIPT = "representative_data.py"

SCRIPT_SOURCE = '''"""representative_data_gen for Sony MCT, from calib.npy beside this file."""

import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH_SIZE = 32


def representative_data_gen():
    """Yields [batch] (one array per model input) until every image was used once."""
    images = np.load(os.path.join(HERE, "calib.npy"))
    for start in range(0, len(images), BATCH_SIZE):
        yield [images[start : start + BATCH_SIZE]]
'''


def export(dataset, folder: Path) -> Written:
    entry = stacked_model_input(dataset, folder / FILE)
    save_text(folder / SCRIPT, SCRIPT_SOURCE)
    usage = f"""# Sony Model Compression Toolkit (MCT)

`{FILE}` stacks {entry["n_images"]} images ({dataset.input_layout}, float32, normalised); `{SCRIPT}` yields them
as MCT's `representative_data_gen` (lists of batches of 32). Give MCT the PyTorch module of the same
model (for an ONNX file: `onnx2torch.convert("model.onnx")`).

```python
import sys

import model_compression_toolkit as mct

sys.path.insert(0, "{folder.resolve()}")
from representative_data import representative_data_gen

quantized, _ = mct.ptq.pytorch_post_training_quantization(torch_model, representative_data_gen)
```

Without files: `onnx_datagen.quant.adapters.as_mct_representative_data_gen("DATASET_DIR")`.
"""
    return Written([FILE, SCRIPT], entry, usage)
