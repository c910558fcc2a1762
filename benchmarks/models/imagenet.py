"""The ImageNet networks the ImageNet suite measures, each exported twice (BN kept, BN folded), with the input
normalisation its weights were trained with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.models.efficientnet_lite0 import NORMALIZATION as TFLITE
from benchmarks.models.efficientnet_lite0 import efficientnet_lite0_onnx
from benchmarks.models.mobilenet_v2 import mobilenet_v2_onnx

IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}  # torchvision's, on 0-1 pixels


@dataclass(frozen=True)
class ImagenetModel:
    export: Callable[[Path, bool], Path]  # (work folder, folded) -> the .onnx, cached in the folder
    normalization: dict  # datagen's mean/std on 0-1 RGB pixels
    folded: bool = False
    mct: bool = False  # Sony MCT runs on its torchvision weights (benchmarks.workers.imagenet)

    def onnx(self, work: Path) -> Path:
        return self.export(work, self.folded)


MODELS = {
    "mobilenet_v2": ImagenetModel(mobilenet_v2_onnx, IMAGENET, mct=True),
    "mobilenet_v2_folded": ImagenetModel(mobilenet_v2_onnx, IMAGENET, folded=True),
    "efficientnet_lite0": ImagenetModel(efficientnet_lite0_onnx, TFLITE),
    "efficientnet_lite0_folded": ImagenetModel(efficientnet_lite0_onnx, TFLITE, folded=True),
}
