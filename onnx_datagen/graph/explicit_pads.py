"""Convolution and pooling padding written out: auto_pad SAME_UPPER / SAME_LOWER as explicit pads.

ONNX Runtime training 1.19 trains through auto_pad wrongly (on a SAME_UPPER copy of a pads=1 model the
BN loss rose where the pads=1 model's fell, from the same start), and tf2onnx writes SAME_* everywhere.
With static input shapes the pads are exact: out = ceil(in / stride), and the total padding
(out - 1) * stride + (kernel - 1) * dilation + 1 - in is split evenly, the odd pixel at the end (UPPER)
or the start (LOWER).
"""

from __future__ import annotations

import math

import onnx
from onnx import helper

PADDED_OPS = {"Conv", "MaxPool", "AveragePool", "LpPool"}  # ConvTranspose pads its output: left as is


def explicit_pads(model: onnx.ModelProto, shapes: dict[str, tuple[int, ...]]) -> onnx.ModelProto:
    """A copy of `model` whose SAME_* nodes carry explicit pads; `shapes` gives the static shape of their inputs."""
    new = onnx.ModelProto()
    new.CopyFrom(model)
    weights = {t.name: tuple(t.dims) for t in new.graph.initializer}
    for node in new.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        mode = attrs.get("auto_pad", b"NOTSET")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if node.op_type not in PADDED_OPS or mode not in ("SAME_UPPER", "SAME_LOWER"):
            continue
        spatial = shapes[node.input[0]][2:]
        kernel = attrs.get("kernel_shape") or weights[node.input[1]][2:]
        strides = attrs.get("strides") or [1] * len(spatial)
        dilations = attrs.get("dilations") or [1] * len(spatial)
        begins, ends = [], []
        for size, k, s, d in zip(spatial, kernel, strides, dilations):
            total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            small, large = total // 2, total - total // 2
            begins.append(small if mode == "SAME_UPPER" else large)
            ends.append(large if mode == "SAME_UPPER" else small)
        kept = [a for a in node.attribute if a.name not in ("auto_pad", "pads")]
        del node.attribute[:]
        node.attribute.extend(kept + [helper.make_attribute("pads", begins + ends)])
    return new
