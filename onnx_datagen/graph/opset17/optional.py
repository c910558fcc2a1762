"""OptionalHasElement: opset 18 made its input optional (absent means false) and let it take plain tensors
(refused by the type check)."""

from __future__ import annotations

import numpy as np
import onnx

from onnx_datagen.graph.opset17.context import LoweringContext
from onnx_datagen.graph.opset17.registry import lowers


@lowers("OptionalHasElement", 18)
def lower_optional_has_element(node: onnx.NodeProto, ctx: LoweringContext) -> list[onnx.NodeProto]:
    if node.input and node.input[0]:
        return [node]
    return [ctx.constant_node(node, "false", np.array(False), output=node.output[0])]
