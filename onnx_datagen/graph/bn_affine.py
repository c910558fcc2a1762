"""BatchNormalization as constant Mul and Add, for engines that must not see a BatchNormalization node.

ONNX Runtime's training graph builder replaces every BatchNormalization with a training-mode kernel
that normalises with the batch's own statistics: the loss then measures nothing.
y = x * s + b with s = gamma / sqrt(var + eps) and b = beta - mean * s is the same inference function.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from onnx_datagen.errors import ModelError
from onnx_datagen.graph.constants import constant_tensors


def bn_as_affine(model: onnx.ModelProto, ranks: dict[str, int]) -> onnx.ModelProto:
    """A copy of `model` with every BatchNormalization replaced by Mul + Add; `ranks` gives each BN input's rank."""
    constants = constant_tensors(model)
    new = onnx.ModelProto()
    new.CopyFrom(model)
    nodes, replaced = [], set()
    for node in new.graph.node:
        if node.op_type != "BatchNormalization":
            nodes.append(node)
            continue
        if len(node.output) > 1 and any(node.output[1:]):
            raise ModelError(f"BatchNormalization {node.name!r} is in training mode (it outputs running statistics)")
        try:
            gamma, beta, mean, var = (np.asarray(constants[name], dtype=np.float64) for name in node.input[1:5])
        except KeyError as err:
            raise ModelError(f"BatchNormalization {node.name!r}: {err.args[0]} is not a constant") from err
        eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
        replaced.update(node.input[1:5])
        scale = gamma / np.sqrt(var + eps)
        shift = beta - mean * scale
        shape = [len(scale)] + [1] * (ranks[node.input[0]] - 2)
        names = [f"{node.output[0]}/affine_scale", f"{node.output[0]}/affine_shift"]
        for name, value in zip(names, (scale, shift)):
            new.graph.initializer.append(numpy_helper.from_array(value.astype(np.float32).reshape(shape), name))
        scaled = f"{node.output[0]}/affine_scaled"
        nodes.append(helper.make_node("Mul", [node.input[0], names[0]], [scaled]))
        nodes.append(helper.make_node("Add", [scaled, names[1]], [node.output[0]]))
    del new.graph.node[:]
    new.graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input} | {o.name for o in new.graph.output}
    kept = [t for t in new.graph.initializer if t.name not in replaced or t.name in used]
    del new.graph.initializer[:]
    new.graph.initializer.extend(kept)  # the BN parameters now folded into the Mul/Add constants
    return new
