"""Ops whose only change after opset 17 is a new attribute: dropped where it cannot change the result,
refused where it would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import onnx

from onnx_datagen.graph.opset17.context import LoweringContext, attribute, rebuilt
from onnx_datagen.graph.opset17.registry import lowers


def dropped(node: onnx.NodeProto, ctx: LoweringContext, harmless: dict[str, Callable[[Any], bool]]) -> list:
    """`node` without the attributes in `harmless`, each checked by its predicate first when set."""
    for name, is_harmless in harmless.items():
        value = attribute(node, name)
        if value is not None and not is_harmless(value):
            ctx.refuse(node, f"{name}={value} has no opset-17 form")
    return [rebuilt(node, drop=harmless)]


def _any(value: Any) -> bool:
    return True


def _zero(value: int) -> bool:
    return value == 0


def _all_ones(values: list[int]) -> bool:
    return all(v == 1 for v in values)


@lowers("Cast", 19, 21)
@lowers("CastLike", 19, 21)
def lower_cast(node: onnx.NodeProto, ctx: LoweringContext) -> list[onnx.NodeProto]:
    # saturate (19) only acts on float8 results, which the type check refuses before any lowering.
    return dropped(node, ctx, {"saturate": _any})


@lowers("AveragePool", 19)
def lower_average_pool(node: onnx.NodeProto, ctx: LoweringContext) -> list[onnx.NodeProto]:
    return dropped(node, ctx, {"dilations": _all_ones})


@lowers("LpPool", 18)
def lower_lp_pool(node: onnx.NodeProto, ctx: LoweringContext) -> list[onnx.NodeProto]:
    return dropped(node, ctx, {"dilations": _all_ones, "ceil_mode": _zero})


@lowers("DequantizeLinear", 21)
def lower_dequantize(node: onnx.NodeProto, ctx: LoweringContext) -> list[onnx.NodeProto]:
    return dropped(node, ctx, {"block_size": _zero})


@lowers("QuantizeLinear", 19, 21)
def lower_quantize(node: onnx.NodeProto, ctx: LoweringContext) -> list[onnx.NodeProto]:
    has_zero_point = len(node.input) > 2 and bool(node.input[2])
    # With a zero point, output_dtype must equal its type (the checker enforces it); without, 17 writes uint8.
    return dropped(
        node,
        ctx,
        {
            "saturate": _any,
            "block_size": _zero,
            "output_dtype": lambda dtype: has_zero_point or dtype in (0, onnx.TensorProto.UINT8),
        },
    )
