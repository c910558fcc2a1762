"""Lower opset 18-21 graphs to opset 17 (what onnx2torch 1.5 converts) with our own per-op rewrites.

Layout: `registry` maps (op type, version) to a lowering; each op family has one module that registers its
lowerings (imported below); `refused` lists the ops with no opset-17 form; `schemas` reads onnx.defs to tell
which changes only widened types (relabelled); `lower` walks the graph.
"""

from onnx_datagen.graph.opset17 import (  # noqa: F401  (each module registers its lowerings)
    gelu,
    grid_sample,
    mish,
    new_attributes,
    optional,
    pad,
    reduce,
    resize,
    scatter,
    split,
)
from onnx_datagen.graph.opset17.lower import NEWEST_OPSET, LoweredModel, lower_to_opset17

__all__ = ["NEWEST_OPSET", "LoweredModel", "lower_to_opset17"]
