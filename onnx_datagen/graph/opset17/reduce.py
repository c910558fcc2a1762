"""The Reduce ops other than ReduceSum (which changed at 13): opset 18 moved `axes` from an attribute to an
input and added noop_with_empty_axes; 20 let ReduceMax and ReduceMin take bool (refused by the type check)."""

from __future__ import annotations

import onnx
from onnx import helper

from onnx_datagen.graph.opset17.context import LoweringContext, attribute, rebuilt, trimmed_inputs
from onnx_datagen.graph.opset17.registry import lowers


@lowers("ReduceL1", 18)
@lowers("ReduceL2", 18)
@lowers("ReduceLogSum", 18)
@lowers("ReduceLogSumExp", 18)
@lowers("ReduceMax", 18, 20)
@lowers("ReduceMean", 18)
@lowers("ReduceMin", 18, 20)
@lowers("ReduceProd", 18)
@lowers("ReduceSumSquare", 18)
def lower_reduce(node: onnx.NodeProto, ctx: LoweringContext) -> list[onnx.NodeProto]:
    inputs = trimmed_inputs(node.input)
    axes_name = inputs[1] if len(inputs) > 1 else ""
    axes = ctx.constant(axes_name)
    if axes_name and axes is None:
        ctx.refuse(node, f"its axes ({axes_name!r}) are computed at run time; opset 17 needs them constant")
    axes = [] if axes is None else [int(a) for a in axes.reshape(-1)]
    if not axes and attribute(node, "noop_with_empty_axes", 0):
        return [helper.make_node("Identity", inputs[:1], list(node.output), name=node.name)]
    # No axes at opset 17 means every axis, as noop_with_empty_axes=0 does.
    return [rebuilt(node, inputs[:1], drop=["noop_with_empty_axes"], **({"axes": axes} if axes else {}))]
