"""Read tensors that are constant in the graph: initializers and Constant-node outputs."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper


def constant_tensors(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """Every tensor name whose value is known without running the graph.

    Includes Identity outputs of constants: torch's exporter stores equal tensors once and aliases the
    rest (a fresh BN's running_mean becomes Identity(bias), both zeros).
    """
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:  # graph order is topological: aliases of aliases resolve too
        if node.domain not in ("", "ai.onnx"):
            continue
        if node.op_type == "Identity" and node.input[0] in values:
            values[node.output[0]] = values[node.input[0]]
        if node.op_type != "Constant":
            continue
        for attr in node.attribute:
            if attr.name == "value":
                values[node.output[0]] = numpy_helper.to_array(attr.t)
            elif attr.name == "value_float":
                values[node.output[0]] = np.array(attr.f, dtype=np.float32)
            elif attr.name == "value_floats":
                values[node.output[0]] = np.array(attr.floats, dtype=np.float32)
    return values


def unique_node_names(model: onnx.ModelProto) -> list[str]:
    """A unique, non-empty name for every node, in graph order (exporters often leave names empty)."""
    seen: dict[str, int] = {}
    names = []
    for index, node in enumerate(model.graph.node):
        base = node.name or f"{node.op_type}_{index}"
        count = seen.get(base, 0)
        seen[base] = count + 1
        names.append(base if count == 0 else f"{base}__{count}")
    return names
