"""Split: opset 18 added num_outputs, whose uneven last chunk opset 17 can only state as explicit sizes."""

from __future__ import annotations

import numpy as np
import onnx

from onnx_datagen.graph.opset17.context import EXPORT_FIX, LoweringContext, attribute, rebuilt, trimmed_inputs
from onnx_datagen.graph.opset17.registry import lowers


@lowers("Split", 18)
def lower_split(node: onnx.NodeProto, ctx: LoweringContext) -> list[onnx.NodeProto]:
    inputs = trimmed_inputs(node.input)
    if len(inputs) > 1:  # explicit sizes: the opset-13 form
        return [rebuilt(node, inputs, drop=["num_outputs"])]
    axis, count = attribute(node, "axis", 0), attribute(node, "num_outputs", len(node.output))
    shape = ctx.shape(inputs[0])
    size = shape[axis] if shape is not None and -len(shape) <= axis < len(shape) else None
    if size is None:
        why = f"it splits axis {axis}, of unknown size, into {count} parts"
        ctx.refuse(node, why, f"give that axis a static size, or {EXPORT_FIX}")
    chunk = -(-size // count)  # opset 18: chunks of ceil(size / count), the last one smaller
    sizes = [chunk] * (count - 1) + [size - chunk * (count - 1)]
    if sizes[-1] < 0:
        ctx.refuse(node, f"axis {axis} has {size} elements, too few for {count} chunks of {chunk}")
    constant = ctx.constant_node(node, "split", np.array(sizes, dtype=np.int64))
    return [constant, rebuilt(node, [inputs[0], constant.output[0]], drop=["num_outputs"])]
