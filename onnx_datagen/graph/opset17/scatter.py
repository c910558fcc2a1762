"""ScatterElements and ScatterND: opset 18 added the reductions 'max' and 'min', which 17 lacks."""

from __future__ import annotations

import onnx

from onnx_datagen.graph.opset17.context import LoweringContext, attribute
from onnx_datagen.graph.opset17.registry import lowers


@lowers("ScatterElements", 18)
@lowers("ScatterND", 18)
def lower_scatter(node: onnx.NodeProto, ctx: LoweringContext) -> list[onnx.NodeProto]:
    reduction = attribute(node, "reduction", "none")
    if reduction in ("max", "min"):
        ctx.refuse(node, f"reduction {reduction!r} (opset 18) has no opset-17 form")
    return [node]
