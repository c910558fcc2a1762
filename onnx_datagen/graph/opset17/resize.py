"""Resize: opset 18 added antialias, axes and keep_aspect_ratio_policy, 19 the half_pixel_symmetric coordinate
mode. Attributes that cannot change the result are dropped; `axes` is spread over every dimension."""

from __future__ import annotations

import numpy as np
import onnx

from onnx_datagen.graph.opset17.context import LoweringContext, attribute, rebuilt, trimmed_inputs
from onnx_datagen.graph.opset17.registry import lowers

NEW_ATTRIBUTES = ["antialias", "axes", "keep_aspect_ratio_policy"]


@lowers("Resize", 18, 19)
def lower_resize(node: onnx.NodeProto, ctx: LoweringContext) -> list[onnx.NodeProto]:
    if attribute(node, "coordinate_transformation_mode") == "half_pixel_symmetric":
        ctx.refuse(node, "coordinate_transformation_mode 'half_pixel_symmetric' (opset 19) has no opset-17 form")
    x, roi, scales, sizes = [*node.input, "", "", ""][:4]
    scale_values = ctx.constant(scales)
    if scale_values is not None and scale_values.size == 0:  # an empty scales input stands for none
        scales, scale_values = "", None
    upscale = scale_values is not None and bool((scale_values >= 1).all())
    # Antialiasing filters linear and cubic downscaling only.
    if attribute(node, "antialias", 0) and attribute(node, "mode", "nearest") != "nearest" and not upscale:
        ctx.refuse(node, "antialias=1 on a possible downscale has no opset-17 form")
    if sizes and attribute(node, "keep_aspect_ratio_policy", "stretch") != "stretch":
        ctx.refuse(node, "keep_aspect_ratio_policy other than 'stretch' has no opset-17 form")
    axes = attribute(node, "axes")
    shape = ctx.shape(x)
    optional = {"roi": roi, "scales": scales, "sizes": sizes}
    nodes = []
    if axes is not None:
        if shape is None:
            ctx.refuse(node, "its axes attribute needs an input of known rank")
        axes = [a % len(shape) for a in axes]
        if axes != list(range(len(shape))):
            for what, spread in (("roi", _roi), ("scales", _scales), ("sizes", _sizes)):
                if not optional[what]:
                    continue
                value = ctx.constant(optional[what])
                full = spread(value.reshape(-1), axes, shape) if value is not None else None
                if full is None:
                    ctx.refuse(node, f"its axes attribute needs constant {what} and known sizes on the other axes")
                nodes.append(ctx.constant_node(node, what, full))
                optional[what] = nodes[-1].output[0]
    return nodes + [rebuilt(node, trimmed_inputs([x, *optional.values()]), drop=NEW_ATTRIBUTES)]


def _roi(value: np.ndarray, axes: list[int], shape: list) -> np.ndarray:
    rank = len(shape)
    full = np.array([0] * rank + [1] * rank, dtype=value.dtype)  # [starts..., ends...]: the whole axis
    for i, axis in enumerate(axes):
        full[axis], full[axis + rank] = value[i], value[i + len(axes)]
    return full


def _scales(value: np.ndarray, axes: list[int], shape: list) -> np.ndarray:
    full = np.ones(len(shape), dtype=value.dtype)
    full[axes] = value
    return full


def _sizes(value: np.ndarray, axes: list[int], shape: list) -> np.ndarray | None:
    if any(size is None for axis, size in enumerate(shape) if axis not in axes):
        return None
    full = np.array([size or 0 for size in shape], dtype=value.dtype)
    full[axes] = value
    return full
