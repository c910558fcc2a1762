"""Mish (new in opset 18) as its formula: x tanh(softplus(x))."""

from __future__ import annotations

import onnx

from onnx_datagen.graph.opset17.context import LoweringContext, NodeChain
from onnx_datagen.graph.opset17.registry import lowers


@lowers("Mish", 18)
def lower_mish(node: onnx.NodeProto, ctx: LoweringContext) -> list[onnx.NodeProto]:
    x = node.input[0]
    chain = NodeChain(node, ctx)
    chain.op("Mul", x, chain.op("Tanh", chain.op("Softplus", x)), output=node.output[0])
    return chain.nodes
