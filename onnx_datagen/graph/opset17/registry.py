"""The lowering registry, in the style of onnx2torch's converter registry: one function per (op type, version)
that changed after opset 17, returning the opset-17 nodes that compute the same outputs.

A new op is one small module with a `@lowers("Op", version)` function, imported in this package's __init__.
"""

from __future__ import annotations

from collections.abc import Callable

import onnx

from onnx_datagen.graph.opset17.context import LoweringContext

Lowering = Callable[[onnx.NodeProto, LoweringContext], list[onnx.NodeProto]]
LOWERINGS: dict[tuple[str, int], Lowering] = {}


def lowers(op_type: str, *versions: int) -> Callable[[Lowering], Lowering]:
    """Register the decorated function for `op_type` nodes as defined since each of `versions` (18 and up)."""

    def register(lowering: Lowering) -> Lowering:
        for version in versions:
            if (op_type, version) in LOWERINGS:
                raise ValueError(f"{op_type}-{version} already has a lowering")
            LOWERINGS[op_type, version] = lowering
        return lowering

    return register
