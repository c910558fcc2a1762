"""Pad: opset 18 added an optional `axes` input, 19 the 'wrap' mode, 21 only types."""

from __future__ import annotations

import numpy as np
import onnx

from onnx_datagen.graph.opset17.context import LoweringContext, attribute, rebuilt, trimmed_inputs
from onnx_datagen.graph.opset17.registry import lowers


@lowers("Pad", 18, 19, 21)
def lower_pad(node: onnx.NodeProto, ctx: LoweringContext) -> list[onnx.NodeProto]:
    if attribute(node, "mode", "constant") == "wrap":
        ctx.refuse(node, "mode 'wrap' (opset 19) has no opset-17 form")
    inputs = trimmed_inputs(node.input)
    if len(inputs) < 4:  # no axes: the opset-13 form
        return [rebuilt(node, inputs)]
    data, pads_name, value, axes_name = inputs
    pads, axes, shape = ctx.constant(pads_name), ctx.constant(axes_name), ctx.shape(data)
    if pads is None or axes is None or shape is None:
        ctx.refuse(node, "its axes input needs constant pads and axes and an input of known rank")
    rank, axes, pads = len(shape), [int(a) % len(shape) for a in axes.reshape(-1)], pads.reshape(-1)
    full = np.zeros(2 * rank, dtype=np.int64)  # [begin of every axis..., end of every axis...]
    for i, axis in enumerate(axes):
        full[axis], full[axis + rank] = pads[i], pads[i + len(axes)]
    constant = ctx.constant_node(node, "pads", full)
    return [constant, rebuilt(node, trimmed_inputs([data, constant.output[0], value]))]
