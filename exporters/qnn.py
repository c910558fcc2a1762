"""Qualcomm QNN / SNPE / QAIRT: headerless float32 .raw files + input_list.txt with absolute paths."""

from __future__ import annotations

from pathlib import Path

from onnx_datagen.exporters import ExporterSpec, Written
from onnx_datagen.exporters._common import model_input_entry, save_text

from onnx_datagen.files import ValueRange, atomic_write_bytes

SPEC = ExporterSpec(
    "qnn",
    "Qualcomm QNN/SNPE/QAIRT: raw/*.raw float32 (NHWC, or --layout nchw) + input_list.txt (absolute paths)",
    "qnn",
    layouts=("nhwc", "nchw"),
    file_per_image=True,
)
LIST = "input_list.txt"


def export(dataset, folder: Path, layout: str) -> Written:
    batches = dataset.feed_batches()
    axes = None
    if layout.upper() != dataset.input_layout:  # the legacy converters take images spatial-first
        axes = (0, 2, 3, 1) if layout == "nhwc" else (0, 3, 1, 2)
    files, seen = [], ValueRange()
    for i, batch in enumerate(batches):
        batch = seen.see(batch.transpose(axes) if axes else batch)
        name = f"raw/{i:06d}.raw"
        atomic_write_bytes(folder / name, batch.astype("<f4").tobytes())  # little-endian float32, no header
        files.append(name)
    file_shape = batch.shape
    # Absolute paths: the base of relative ones differs between Qualcomm tools.
    save_text(folder / LIST, "".join(f"{(folder / f).resolve()}\n" for f in files))
    entry = model_input_entry(dataset, file_shape, len(files), seen.bounds, layout=layout.upper())
    entry["byte_order"] = "little"
    shape = "x".join(str(d) for d in file_shape)
    converter = "qnn-onnx-converter / snpe-onnx-to-dlc (they turn ONNX inputs NHWC)"
    if layout == "nchw":
        converter = "qairt-converter (it keeps the ONNX layout by default)"
    usage = f"""# Qualcomm QNN / SNPE / QAIRT

`raw/` holds {len(files)} headerless little-endian float32 files, each one model input of shape {shape}
({layout.upper()}, normalised as the model expects); `{LIST}` lists them with absolute paths. This layout
is for {converter}; re-export with `--layout {"nchw" if layout == "nhwc" else "nhwc"}` for the other family.

```bash
qnn-onnx-converter --input_network model.onnx --input_list {folder.resolve() / LIST} -o model.cpp
snpe-dlc-quantize --input_dlc model.dlc --input_list {folder.resolve() / LIST} --output_dlc model_quantized.dlc
qairt-quantizer --input_dlc model.dlc --input_list {folder.resolve() / LIST} --output_dlc model_quantized.dlc
```

Read one back: `np.fromfile(path, dtype="<f4").reshape({", ".join(str(d) for d in file_shape)})`.
"""
    return Written([*files, LIST], entry, usage)
