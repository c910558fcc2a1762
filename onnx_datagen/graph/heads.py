"""Output heads: the last Gemm/MatMul/Conv before each graph output (for the regularized min-max loss), and the
number of classes of a classifier output (for class targets and the diversity report)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

from onnx_datagen.errors import ModelError
from onnx_datagen.graph.constants import constant_tensors
from onnx_datagen.graph.image_input import describe_dims, tensor_dims

# Ops that carry the head's result to the graph output unchanged in value (only reshaped/biased).
_PASS_THROUGH = {"Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Add", "Transpose"}


@dataclass(frozen=True)
class OutputHead:
    """The linear layer producing a graph output: z_j = <a, w_j> (+ bias)."""

    output: str
    input: str  # the layer's input activation `a`
    weight_rows: np.ndarray  # (n_outputs, n_features): row j is w_j


def find_output_heads(model: onnx.ModelProto) -> list[OutputHead]:
    """One head per graph output that ends in a linear layer with a constant weight."""
    constants = constant_tensors(model)
    producer = {out: node for node in model.graph.node for out in node.output}
    heads = []
    for output in model.graph.output:
        node = producer.get(output.name)
        while node is not None and node.op_type in _PASS_THROUGH:
            node = producer.get(next((i for i in node.input if i not in constants), ""))
        if node is None or len(node.input) < 2 or node.input[1] not in constants:  # e.g. a Sigmoid score head
            continue
        weight = np.asarray(constants[node.input[1]], dtype=np.float64)
        if node.op_type == "Gemm":
            trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
            rows = weight if trans_b else weight.T
        elif node.op_type == "MatMul" and weight.ndim == 2:
            rows = weight.T
        elif node.op_type == "Conv":
            rows = weight.reshape(weight.shape[0], -1)
        else:
            continue
        heads.append(OutputHead(output.name, node.input[0], rows))
    return heads


def output_classes(prepared) -> int | None:
    """K when the prepared model's first output is [N, K] (K >= 2), else None."""
    dims = tensor_dims(prepared.model.graph.output[0])
    if dims is None or len(dims) != 2 or not isinstance(dims[1], int) or dims[1] < 2:
        return None
    return dims[1]


def classifier_classes(prepared) -> int:
    """K of the first output when it is an [N, K] classifier output (needed for class targets)."""
    classes = output_classes(prepared)
    if classes is None:
        dims = tensor_dims(prepared.model.graph.output[0])
        raise ModelError(
            f"{prepared.label}: class targets (--labels, --ce-weight) need a first output of shape [N, classes], "
            f"got {describe_dims(dims)}; drop --labels and set --ce-weight 0"
        )
    return classes
