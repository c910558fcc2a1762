"""Shape inference over the whole graph: the shapes the engines rely on, or the conflict that would stop them."""

from __future__ import annotations

import re

import onnx

from onnx_datagen.errors import ModelError

# onnx's strict mode lists one conflict a line: "(op_type:Conv, node name: conv1): [ShapeInferenceError] ...".
_NODE = re.compile(r"\(op_type:(\w+), node name: ([^)]*)\): (.*)")
_TAG = re.compile(r"\[\w+\] ")
# infer_shapes serialises the model, which protobuf refuses over 2 GB; onnx2torch then infers from a file itself.
_PROTOBUF_LIMIT = 2**31


def with_inferred_shapes(model: onnx.ModelProto, label: str) -> onnx.ModelProto:
    """A copy of `model` with every shape onnx infers as value_info.

    A declared shape or type (value_info, an output, an input's initializer) that contradicts what the graph
    computes is refused here, before any work: left in, it surfaces later as onnx's traceback from onnx2torch's
    own inference, or as a wrongly built torch layer. Strict mode, since the default one skips such nodes; types
    checked, so an integer weight is named at its node and not as torch's "requires gradients" error.
    """
    if model.ByteSize() >= _PROTOBUF_LIMIT:
        return model
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=True, check_type=True)
    except onnx.shape_inference.InferenceError as err:
        raise ModelError(
            f"{label}: ONNX shape inference finds a conflict{_first_conflict(err)}; the shapes the model declares "
            "contradict its graph: re-export the model, or run onnx.shape_inference.infer_shapes(model, "
            "strict_mode=True) on it to see every conflict"
        ) from err


def _first_conflict(err: onnx.shape_inference.InferenceError) -> str:
    """' at Conv 'conv1': inferred shape ... (and 1 more)' from onnx's message; the node when onnx names one."""
    text = _TAG.sub("", str(err)).replace("Inference error(s): ", "")
    conflicts = [line.strip() for line in text.splitlines() if line.strip()] or [type(err).__name__]
    more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
    node = _NODE.fullmatch(conflicts[0])
    if node is None:
        return f": {conflicts[0]}{more}"
    op_type, name, what = node.groups()
    return f" at {op_type} {name!r}: {what}{more}" if name else f" at a {op_type} node: {what}{more}"


def with_conv_output_ranks(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` with a rank (dims unknown) declared for every Conv output that shape inference left untyped.

    After a Reshape to a run-time shape (Paddle's SVTR blocks) inference loses the rank, and onnx2torch then cannot
    build the BatchNormalization that follows ("spatial rank == -2"). A Conv's output has its weight's rank.
    """
    values = list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output)
    ranked = {v.name for v in values if v.type.tensor_type.HasField("shape")}
    ranks = {t.name: len(t.dims) for t in model.graph.initializer}
    missing = {
        node.output[0]: ranks[node.input[1]]
        for node in model.graph.node
        if node.op_type == "Conv" and node.output[0] not in ranked and len(node.input) > 1 and node.input[1] in ranks
    }
    if not missing:
        return model
    new = onnx.ModelProto()
    new.CopyFrom(model)
    kept = [v for v in new.graph.value_info if v.name not in missing]  # typed without a shape
    del new.graph.value_info[:]
    new.graph.value_info.extend(kept)
    for name, rank in missing.items():
        new.graph.value_info.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, [None] * rank))
    return new
