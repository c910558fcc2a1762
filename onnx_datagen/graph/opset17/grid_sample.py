"""GridSample: opset 20 renamed the modes 'bilinear' and 'bicubic' to 'linear' and 'cubic' and allowed
inputs other than 4-D, which 16 (the version opset 17 reads) does not take."""

from __future__ import annotations

import onnx

from onnx_datagen.graph.opset17.context import LoweringContext, attribute, rebuilt
from onnx_datagen.graph.opset17.registry import lowers

OPSET16_MODES = {"linear": "bilinear", "cubic": "bicubic", "nearest": "nearest"}


@lowers("GridSample", 20)
def lower_grid_sample(node: onnx.NodeProto, ctx: LoweringContext) -> list[onnx.NodeProto]:
    shape = ctx.shape(node.input[0])
    if shape is None or len(shape) != 4:
        rank = "of unknown rank" if shape is None else f"{len(shape)}-D"
        ctx.refuse(node, f"opset 17 samples 4-D inputs only and this one is {rank}")
    return [rebuilt(node, mode=OPSET16_MODES[attribute(node, "mode", "linear")])]
