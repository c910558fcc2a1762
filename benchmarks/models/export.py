"""The two exports of an ImageNet classifier every ImageNet model is measured in: BN kept, and BN folded."""

from __future__ import annotations

import tempfile
from pathlib import Path


def export_onnx(model, path: Path, folded: bool) -> Path:
    """`model` at 224x224 to `path`: BN kept (legacy exporter, no constant folding, opset 17, dynamic batch), or
    `folded`: torch's default call, `torch.onnx.export(model, x, path)` (the dynamo exporter, BN fused into the
    convolutions, weights in a side file), the file most users hold."""
    import torch

    x = torch.zeros(1, 3, 224, 224)
    # exported under its final name in a scratch folder, so a side file's recorded location holds
    with tempfile.TemporaryDirectory(dir=path.parent) as folder:
        partial = Path(folder) / path.name
        if folded:
            torch.onnx.export(model, (x,), str(partial))
        else:
            torch.onnx.export(model, (x,), str(partial), dynamo=False, do_constant_folding=False, opset_version=17,
                              input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "n"}, "logits": {0: "n"}})  # fmt: skip
        for side in Path(folder).glob(path.name + ".*"):  # the dynamo exporter's external weights, before the model
            side.rename(path.parent / side.name)
        partial.rename(path)
    return path
