"""Polygraphy: a JSON inputs file in Polygraphy's own encoding, plus a data_loader.py for TensorRT calibration."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
from onnx_datagen.exporters import ExporterSpec, Written
from onnx_datagen.exporters._common import model_input_entry, save_text

from onnx_datagen.files import ValueRange, atomic_write

SPEC = ExporterSpec(
    "polygraphy",
    "Polygraphy/TensorRT<=10: inputs.json (--load-inputs) + data_loader.py (--data-loader-script)",
    "polygraphy",
    bytes_per_value=4 * 4 / 3,  # base64 of float32
)
FILE = "inputs.json"
SCRIPT = "data_loader.py"

SCRIPT_SOURCE = '''"""load_data() for Polygraphy's --data-loader-script: the feeds of inputs.json beside this file."""

import os

from polygraphy.json import load_json

HERE = os.path.dirname(os.path.abspath(__file__))


def load_data():
    yield from load_json(os.path.join(HERE, "inputs.json"), description="input data")
'''


def encode_array(array: np.ndarray) -> dict:
    """Polygraphy's JSON form of an ndarray (polygraphy/json/serde.py): base64 of the .npy bytes plus a type tag."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return {"array": base64.b64encode(buffer.getvalue()).decode("ascii"), "polygraphy_class": "ndarray"}


def export(dataset, folder: Path) -> Written:
    batches = dataset.feed_batches()
    seen = ValueRange()

    def write(tmp: Path) -> None:  # one JSON list, written feed by feed: the set need not fit in memory
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("[")
            for i, batch in enumerate(batches):
                f.write((", " if i else "") + json.dumps({dataset.input_name: encode_array(seen.see(batch))}))
            f.write("]")

    atomic_write(folder / FILE, write)
    save_text(folder / SCRIPT, SCRIPT_SOURCE)
    feeds = len(batches)
    where = folder.resolve()
    usage = f"""# Polygraphy (ONNX Runtime checks; TensorRT <= 10 INT8 calibration)

`{FILE}` holds {feeds} feed dicts ({{"{dataset.input_name}": array}}, {dataset.input_layout} float32,
normalised, batch dimension included) in Polygraphy's JSON encoding; `{SCRIPT}` yields the same feeds.

```bash
polygraphy run model.onnx --onnxrt --load-inputs {where / FILE}
polygraphy convert model.onnx --int8 --data-loader-script {where / SCRIPT} \\
    --calibration-cache calib.cache -o model.engine
```

TensorRT 11 removed implicit INT8 calibration: there, export `--to modelopt` for explicit Q/DQ.
"""
    return Written([FILE, SCRIPT], model_input_entry(dataset, batches[0].shape, feeds, seen.bounds), usage)
