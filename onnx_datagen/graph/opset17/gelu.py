"""Gelu (new in opset 20) as the formula it names: 0.5 x (1 + erf(x / sqrt(2))), or with approximate='tanh'
0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))."""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import helper

from onnx_datagen.graph.opset17.context import LoweringContext, NodeChain, attribute
from onnx_datagen.graph.opset17.registry import lowers


@lowers("Gelu", 20)
def lower_gelu(node: onnx.NodeProto, ctx: LoweringContext) -> list[onnx.NodeProto]:
    x = node.input[0]
    # An unknown type is float here; if it is not, ORT refuses the model on load rather than computing wrongly.
    dtype = helper.tensor_dtype_to_np_dtype(ctx.elem_type(x) or onnx.TensorProto.FLOAT)
    chain = NodeChain(node, ctx)

    def scalar(what: str, value: float) -> str:
        return chain.constant(what, np.array(value, dtype=dtype))

    approximate = attribute(node, "approximate", "none")
    if approximate == "tanh":
        cube = chain.op("Mul", x, chain.op("Mul", x, x))
        inner = chain.op("Add", x, chain.op("Mul", cube, scalar("coeff", 0.044715)))
        gate = chain.op("Tanh", chain.op("Mul", inner, scalar("sqrt_2_over_pi", math.sqrt(2 / math.pi))))
    elif approximate == "none":
        gate = chain.op("Erf", chain.op("Mul", x, scalar("sqrt_half", math.sqrt(0.5))))
    else:
        ctx.refuse(node, f"approximate={approximate!r} is neither 'none' nor 'tanh'")
    half_x = chain.op("Mul", x, scalar("half", 0.5))
    chain.op("Mul", half_x, chain.op("Add", gate, scalar("one", 1.0)), output=node.output[0])
    return chain.nodes
