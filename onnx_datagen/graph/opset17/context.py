"""What a lowering may ask about the graph around a node (constants, types, shapes), and how it refuses one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

import numpy as np
import onnx
from onnx import helper, numpy_helper

from onnx_datagen.errors import ModelError

TARGET_OPSET = 17  # onnx2torch 1.5 converts ops up to opset 17
EXPORT_FIX = "re-export the model at opset 17 (from PyTorch: torch.onnx.export(..., dynamo=False, opset_version=17))"


class LoweringContext:
    """What lowerings may read about one graph (with its subgraphs) at `opset`, plus fresh names for new tensors.

    `types` maps tensor names to the TypeProto that shape inference found; a name missing from it (or from
    `constants`) is simply unknown, and each lowering decides whether it can do without.
    """

    def __init__(
        self, opset: int, constants: dict[str, np.ndarray], types: dict[str, onnx.TypeProto], names: set[str]
    ) -> None:
        self.opset = opset
        self.constants = constants
        self.types = types
        self._names = names

    def constant(self, name: str) -> np.ndarray | None:
        return self.constants.get(name) if name else None

    def elem_type(self, name: str) -> int:
        """The tensor's element type (onnx.TensorProto.FLOAT, ...), 0 when unknown."""
        value = self.types.get(name)
        return value.tensor_type.elem_type if value is not None and value.HasField("tensor_type") else 0

    def shape(self, name: str) -> list[int | None] | None:
        """The tensor's dimensions (None for a symbolic one), or None when even its rank is unknown."""
        value = self.types.get(name)
        if value is None or not value.HasField("tensor_type") or not value.tensor_type.HasField("shape"):
            return None
        return [d.dim_value if d.HasField("dim_value") else None for d in value.tensor_type.shape.dim]

    def fresh_name(self, base: str) -> str:
        name, index = f"{base}_opset17", 0
        while name in self._names:
            index += 1
            name = f"{base}_opset17_{index}"
        self._names.add(name)
        return name

    def constant_node(
        self, node: onnx.NodeProto, what: str, value: np.ndarray, output: str | None = None
    ) -> onnx.NodeProto:
        """A Constant node holding `value`, named after `node`, writing `output` (default: a fresh name)."""
        output = output or self.fresh_name(f"{node.output[0]}_{what}")
        return helper.make_node(
            "Constant", [], [output], name=f"{node.name or node.op_type}/{what}", value=numpy_helper.from_array(value)
        )

    def refuse(self, node: onnx.NodeProto, why: str, fix: str = EXPORT_FIX) -> NoReturn:
        label = repr(node.name) if node.name else f"(unnamed, writes {node.output[0]!r})"
        raise ModelError(f"cannot lower {node.op_type} {label} from opset {self.opset} to {TARGET_OPSET}: {why}; {fix}")


class NodeChain:
    """New nodes that replace `node`, named after it; `op(..., output=...)` writes one of `node`'s outputs."""

    def __init__(self, node: onnx.NodeProto, ctx: LoweringContext) -> None:
        self.node, self.ctx = node, ctx
        self.nodes: list[onnx.NodeProto] = []

    def constant(self, what: str, value: np.ndarray) -> str:
        self.nodes.append(self.ctx.constant_node(self.node, what, value))
        return self.nodes[-1].output[0]

    def op(self, op_type: str, *inputs: str, output: str | None = None, **attributes: Any) -> str:
        output = output or self.ctx.fresh_name(f"{self.node.output[0]}_{op_type.lower()}")
        name = f"{self.node.name or self.node.op_type}/{op_type}_{len(self.nodes)}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], name=name, **attributes))
        return output


def attribute(node: onnx.NodeProto, name: str, default: Any = None) -> Any:
    """The attribute's value (strings decoded), or `default` when the node does not set it."""
    for attr in node.attribute:
        if attr.name == name:
            value = helper.get_attribute_value(attr)
            return value.decode() if isinstance(value, bytes) else value
    return default


def rebuilt(
    node: onnx.NodeProto, inputs: Iterable[str] | None = None, drop: Iterable[str] = (), **set_attributes: Any
) -> onnx.NodeProto:
    """A copy of `node` (name, outputs, metadata kept) with new inputs, some attributes dropped and some set."""
    new = onnx.NodeProto()
    new.CopyFrom(node)
    if inputs is not None:
        del new.input[:]
        new.input.extend(inputs)
    gone = set(drop) | set(set_attributes)
    kept = [a for a in new.attribute if a.name not in gone]
    del new.attribute[:]
    new.attribute.extend(kept + [helper.make_attribute(k, v) for k, v in set_attributes.items()])
    return new


def trimmed_inputs(inputs: Iterable[str]) -> list[str]:
    """Inputs without trailing empty names (an omitted optional input at the end is written as nothing)."""
    inputs = list(inputs)
    while inputs and not inputs[-1]:
        inputs.pop()
    return inputs
