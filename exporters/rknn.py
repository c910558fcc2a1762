"""Rockchip RKNN-Toolkit2: de-normalised RGB PNGs + dataset.txt with absolute paths, and the mean/std to configure."""

from __future__ import annotations

from pathlib import Path

from onnx_datagen.exporters import ExporterSpec, Written
from onnx_datagen.exporters._common import numbers, pixel_entry, pixel_normalization, save_text
from onnx_datagen.exporters.png import write_pngs

SPEC = ExporterSpec(
    "rknn",
    "RKNN-Toolkit2: images/*.png (8-bit RGB) + dataset.txt (absolute paths) + mean/std values",
    "rknn",
    pixels=True,
    bytes_per_value=1,
    file_per_image=True,
)
LIST = "dataset.txt"


def export(dataset, folder: Path) -> Written:
    files = write_pngs(folder, dataset.pixel_chunks(), sub="images")
    _, c, h, w = dataset.images.shape
    # Absolute paths: RKNN skips lines that do not resolve ("There is no valid data in the dataset").
    save_text(folder / LIST, "".join(f"{(folder / f).resolve()}\n" for f in files))
    norm = pixel_normalization(dataset)
    mean, std = numbers(norm["mean_255"]), numbers(norm["std_255"])
    # RKNN reads the PNGs as RGB; a BGR model needs them swapped before its mean/std (given in BGR order) apply
    swap = ", quant_img_RGB2BGR=True" if dataset.bgr else ""
    usage = f"""# Rockchip RKNN-Toolkit2

`images/` holds {len(files)} de-normalised 8-bit {"RGB" if c == 3 else "grayscale"} PNGs and
`{LIST}` lists them with absolute paths (regenerate with `datagen export` if you move the folder).
RKNN normalises inside the model with the mean/std below (0-255 scale):

```python
from rknn.api import RKNN

rknn = RKNN()
rknn.config(mean_values=[{mean}], std_values=[{std}]{swap}, target_platform="rk3588")
rknn.load_onnx(model="model.onnx")
rknn.build(do_quantization=True, dataset="{folder.resolve() / LIST}")
rknn.export_rknn("model.rknn")
```
"""
    return Written([*files, LIST], pixel_entry(dataset, [h, w, c], "HWC", "uint8"), usage)
