"""Small torch models with the patterns real exports carry, and every way users export them.

Each model reproduces one family's graph pattern at toy size (random weights, BN statistics set away
from their defaults so a wrong read shows): option-A ResNet shortcuts (strided Slice + channel Pad),
TensorFlow-SAME depthwise blocks (explicit asymmetric Pad), MobileNetV2 inverted residuals (ReLU6 as
Clip), an FPN/segmentation net (Resize + Concat, a dense output) and a detection net with two outputs
(boxes and scores, no [N, K] head). Exports: legacy at opset 13 and 17, dynamo at opset 18 and its
default, each with BatchNorm kept and folded.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

SIZE = 16  # input height and width: small enough for CI, large enough for three stride-2 stages


def _bn(channels: int) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(channels)
    bn.running_mean.uniform_(-0.5, 0.5)
    bn.running_var.uniform_(0.5, 2.0)
    return bn


def _conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, padding: int | None = None):
    pad = k // 2 if padding is None else padding
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, pad, groups=groups, bias=False), _bn(cout))


class OptionAResNet(nn.Module):
    """CIFAR ResNet stage change: the shortcut subsamples with a strided slice and zero-pads channels."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _conv_bn(3, 8)
        self.body = nn.Sequential(_conv_bn(8, 16, stride=2), nn.ReLU(), _conv_bn(16, 16))
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        shortcut = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, 4, 4))
        x = F.relu(self.body(x) + shortcut)
        return self.fc(x.mean((2, 3)))


class TfSameDepthwise(nn.Module):
    """EfficientNet-Lite / TF-ported blocks: 'SAME' padding of a stride-2 conv is an explicit (0, 1, 0, 1) Pad."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _conv_bn(3, 8, stride=2, padding=0)
        self.dw = _conv_bn(8, 8, stride=2, groups=8, padding=0)
        self.pw = _conv_bn(8, 16, k=1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu6(self.stem(F.pad(x, (0, 1, 0, 1))))
        x = F.relu6(self.dw(F.pad(x, (0, 1, 0, 1))))
        return self.fc(self.pw(x).mean((2, 3)))


class InvertedResidual(nn.Module):
    """MobileNetV2: 1x1 expand, 3x3 depthwise, 1x1 project, ReLU6 (exported as Clip), residual add."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _conv_bn(3, 8, stride=2)
        self.block = nn.Sequential(
            _conv_bn(8, 32, k=1), nn.ReLU6(), _conv_bn(32, 32, groups=32), nn.ReLU6(), _conv_bn(32, 8, k=1)
        )
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = F.relu6(self.stem(x))
        x = x + self.block(x)
        return self.fc(x.mean((2, 3)))


class FpnSegmenter(nn.Module):
    """Two stride-2 stages, the coarse one upsampled (Resize) and concatenated with the fine one: a class map."""

    def __init__(self) -> None:
        super().__init__()
        self.fine = nn.Sequential(_conv_bn(3, 8, stride=2), nn.ReLU())
        self.coarse = nn.Sequential(_conv_bn(8, 16, stride=2), nn.ReLU())
        self.head = nn.Conv2d(24, 5, 1)

    def forward(self, x):
        fine = self.fine(x)
        coarse = F.interpolate(self.coarse(fine), scale_factor=2.0, mode="bilinear", align_corners=False)
        logits = self.head(torch.cat([fine, coarse], 1))
        return F.interpolate(logits, size=x.shape[2:], mode="nearest")


class TwoHeadDetector(nn.Module):
    """Anchor-style detection head: per-location box offsets and class scores as two outputs, no [N, K] head."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential(_conv_bn(3, 8, stride=2), nn.ReLU(), _conv_bn(8, 16, stride=2), nn.ReLU())
        self.boxes = nn.Conv2d(16, 2 * 4, 1)
        self.scores = nn.Conv2d(16, 2 * 3, 1)

    def forward(self, x):
        features = self.trunk(x)
        n = x.shape[0]
        boxes = self.boxes(features).permute(0, 2, 3, 1).reshape(n, -1, 4)
        scores = torch.sigmoid(self.scores(features)).permute(0, 2, 3, 1).reshape(n, -1, 3)
        return boxes, scores


MODELS = {
    "option-a-resnet": OptionAResNet,
    "tf-same-depthwise": TfSameDepthwise,
    "mobilenetv2-block": InvertedResidual,
    "fpn-segmenter": FpnSegmenter,
    "two-head-detector": TwoHeadDetector,
}


@dataclass(frozen=True)
class Export:
    """One way to export: legacy (TorchScript) or dynamo, at an opset (None: the exporter's default)."""

    dynamo: bool
    opset: int | None
    bn_kept: bool

    @property
    def name(self) -> str:
        kind = "dynamo" if self.dynamo else "legacy"
        return f"{kind}-opset{self.opset or 'default'}-{'bn-kept' if self.bn_kept else 'bn-folded'}"


EXPORTS = [
    Export(dynamo, opset, kept)
    for dynamo, opsets in ((False, (13, 17)), (True, (18, None)))
    for opset in opsets
    for kept in (True, False)
]


def build(name: str) -> nn.Module:
    torch.manual_seed(0)
    return MODELS[name]().eval()


def export(model: nn.Module, how: Export, path: Path) -> Path:
    """BN kept: legacy without constant folding, dynamo without its optimizer; folded: each exporter's default."""
    x = torch.randn(2, 3, SIZE, SIZE)
    outputs = model(x)
    names = [f"out{i}" for i in range(len(outputs) if isinstance(outputs, tuple) else 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if how.dynamo:
            torch.onnx.export(
                model,
                (x,),
                str(path),
                dynamo=True,
                optimize=not how.bn_kept,
                opset_version=how.opset,
                external_data=False,
                dynamic_shapes={"x": {0: torch.export.Dim("N")}},
                output_names=names,
                verbose=False,
            )
        else:
            torch.onnx.export(
                model,
                (x,),
                str(path),
                dynamo=False,
                opset_version=how.opset,
                do_constant_folding=not how.bn_kept,
                input_names=["x"],
                output_names=names,
                dynamic_axes={"x": {0: "N"}, **{n: {0: "N"} for n in names}},
            )
    return path
