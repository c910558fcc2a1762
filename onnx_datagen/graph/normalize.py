"""Bring graphs from other people's exporters to a plain form: torch's (dynamo: opset 18-21, Shape/CastLike/Expand
noise; legacy without constant folding: constant subgraphs), Paddle's (every weight a Constant node), and files whose
opset import spells the default domain "ai.onnx".

onnx2torch 1.5 knows ops up to opset 17, has no CastLike converter, and reads weights from initializers only. The
pass: Constant nodes become initializers and "ai.onnx" becomes "", then fold constants and drop dead nodes
(onnxscript), lower to opset 17 with our own per-op rewrites (graph/opset17), then clear Reshape's `allowzero`
(onnx2torch rejects allowzero=1; it only matters when the target shape holds a literal 0).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from onnx_datagen.deps import require
from onnx_datagen.errors import ModelError
from onnx_datagen.graph.constants import constant_tensors
from onnx_datagen.graph.load import opset_version
from onnx_datagen.graph.opset17 import lower_to_opset17
from onnx_datagen.graph.opset17.context import TARGET_OPSET

_NOISE_OPS = {"CastLike", "Shape", "Expand", "ConstantOfShape"}


def needs_normalization(model: onnx.ModelProto) -> bool:
    nodes = model.graph.node
    return opset_version(model) > TARGET_OPSET or any(n.op_type in _NOISE_OPS for n in nodes) or _unfolded(model)


DEFAULT_DOMAINS = ("", "ai.onnx")  # the checker accepts both spellings of the default domain


def with_plain_constants(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` with every top-level Constant node stored as an initializer and the default domain spelled "".

    Paddle exports keep every weight in a Constant node, and onnx2torch looks a Conv's weight up among the
    initializers only. onnxscript's folding and onnx's version converter skip a graph whose opset import says
    "ai.onnx". The model is returned as it is when neither applies.
    """
    constants = [n for n in model.graph.node if n.op_type == "Constant" and n.domain in DEFAULT_DOMAINS]
    spelled = any(e.domain == "ai.onnx" for e in model.opset_import) or any(
        n.domain == "ai.onnx" for n in model.graph.node
    )
    if not constants and not spelled:
        return model
    new = onnx.ModelProto()
    new.CopyFrom(model)
    for entry in new.opset_import:
        if entry.domain == "ai.onnx":
            entry.domain = ""
    for node in new.graph.node:
        if node.domain == "ai.onnx":
            node.domain = ""
    values = constant_tensors(new)
    kept = []
    for node in new.graph.node:
        if node.op_type == "Constant" and node.domain == "" and node.output[0] in values:
            new.graph.initializer.append(numpy_helper.from_array(np.asarray(values[node.output[0]]), node.output[0]))
        else:
            kept.append(node)
    del new.graph.node[:]
    new.graph.node.extend(kept)
    new.ir_version = max(new.ir_version, 4)  # IR 3 wants every initializer listed as a graph input too
    return new


def _unfolded(model: onnx.ModelProto) -> bool:
    """Whether a node computes from constants only. onnx2torch reads such a value as dynamic and refuses it where
    it needs a constant: legacy exports without constant folding write ReLU6's bounds as Clip(x, Cast(0), Cast(6))."""
    constants = {t.name for t in model.graph.initializer}  # names only: no weight is decoded
    for node in model.graph.node:
        if node.input and all(not name or name in constants for name in node.input):
            if node.op_type != "Identity":  # an alias the exporter writes for shared weights
                return True
            constants.update(node.output)
        elif node.op_type == "Constant":
            constants.update(node.output)
    return False


def fold_constants(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of `model` with constant subgraphs folded and dead nodes dropped; an unchanged copy when onnxscript
    cannot fold it (folding only simplifies: the graph as exported computes the same)."""
    onnx_ir = require("onnx_ir")
    optimizer = require("onnxscript.optimizer")
    try:
        ir_model = onnx_ir.from_proto(model)
        optimizer.fold_constants(ir_model)
        optimizer.remove_unused_nodes(ir_model)
        return onnx_ir.to_proto(ir_model)
    except Exception:
        copy = onnx.ModelProto()
        copy.CopyFrom(model)
        return copy


def normalize_graph(model: onnx.ModelProto) -> onnx.ModelProto:
    """Return an equivalent opset-17 model with constant subgraphs folded (the input is not modified)."""
    model = with_plain_constants(model)
    if not needs_normalization(model):
        return model
    folded = lower_to_opset17(fold_constants(model)).model
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
                        "which the torch engine cannot convert"
                    )
                node.attribute.remove(attr)
    return folded
