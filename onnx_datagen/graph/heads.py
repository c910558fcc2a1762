"""Output heads: the last Gemm/MatMul/Conv before each graph output (for the regularized min-max loss)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

from onnx_datagen.graph.constants import constant_tensors

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
        if node is None or node.input[1] not in constants:
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
