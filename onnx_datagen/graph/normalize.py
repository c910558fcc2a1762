"""Bring graphs from torch's dynamo exporter (opset >= 18, Shape/CastLike/Expand noise) to a plain form.

onnx2torch 1.5 knows ops up to opset 17 and no CastLike (feasibility.md, section C). The pass that
works: fold constants and drop dead nodes (onnxscript), convert to opset 17, then clear Reshape's
`allowzero` (onnx2torch rejects allowzero=1; it only matters when the target shape holds a literal 0).
"""

from __future__ import annotations

import numpy as np
import onnx

from onnx_datagen.deps import require
from onnx_datagen.errors import ModelError
from onnx_datagen.graph.constants import constant_tensors
from onnx_datagen.graph.load import convert_opset, opset_version

TARGET_OPSET = 17
_NOISE_OPS = {"CastLike", "Shape", "Expand", "ConstantOfShape"}


def needs_normalization(model: onnx.ModelProto) -> bool:
    return opset_version(model) > TARGET_OPSET or any(n.op_type in _NOISE_OPS for n in model.graph.node)


def normalize_graph(model: onnx.ModelProto) -> onnx.ModelProto:
    """Return an equivalent opset-17 model with constant subgraphs folded (the input is not modified)."""
    if not needs_normalization(model):
        return model
    onnx_ir = require("onnx_ir")
    optimizer = require("onnxscript.optimizer")
    ir_model = onnx_ir.from_proto(model)
    optimizer.fold_constants(ir_model)
    optimizer.remove_unused_nodes(ir_model)
    folded = onnx_ir.to_proto(ir_model)
    if opset_version(folded) > TARGET_OPSET:
        folded = convert_opset(folded, TARGET_OPSET, "for conversion", f"export with opset_version={TARGET_OPSET}")
    constants = constant_tensors(folded)
    for node in folded.graph.node:
        if node.op_type != "Reshape":
            continue
        shape = constants.get(node.input[1]) if len(node.input) > 1 else None
        for attr in list(node.attribute):
            if attr.name == "allowzero" and attr.i == 1:
                # A runtime-computed target comes from tensor sizes, which are 0 only for empty batches.
                if shape is not None and np.any(np.asarray(shape) == 0):
                    raise ModelError(
                        f"Reshape {node.name!r} uses allowzero=1 with a literal 0 in its target shape, "
                        "which the torch backend cannot convert"
                    )
                node.attribute.remove(attr)
    return folded
