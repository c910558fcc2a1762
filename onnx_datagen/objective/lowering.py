"""The objective's arithmetic on ONNX graph values: the same loss functions, lowered to ONNX nodes.

The loss terms in objective/ are written with plain tensor arithmetic (+ - * / **, .sum(), .mean(dim),
.sqrt(), .clamp_min(), .reshape(), .max(dim) / .min(dim), .float(), .dim(), .shape). Called with torch
tensors they are the torch engine's losses; called with GraphValues they append ONNX nodes to a graph,
which the ort-training engine trains through: one description of each term, two lowerings. Only ops with
ONNX Runtime training gradients are emitted (chained Add, never Sum; Relu for clamping).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


@dataclass
class GraphBuilder:
    """Collects the nodes and constants a lowering appends; names are unique under `prefix`."""

    opset: int
    prefix: str = "datagen_loss"
    nodes: list = field(default_factory=list)
    initializers: list = field(default_factory=list)
    count: int = 0

    def fresh(self, hint: str) -> str:
        self.count += 1
        return f"{self.prefix}/{hint}_{self.count}"

    def value(self, name: str, shape: tuple[int, ...]) -> GraphValue:
        """An existing graph tensor (model output, graph input) as a value of known static shape."""
        return GraphValue(self, name, tuple(shape))

    def const(self, array) -> GraphValue:
        array = np.asarray(array, dtype=np.float32)
        name = self.fresh("const")
        self.initializers.append(numpy_helper.from_array(array, name))
        return GraphValue(self, name, array.shape)

    def int_const(self, values: list[int]) -> str:
        name = self.fresh("axes")
        self.initializers.append(numpy_helper.from_array(np.asarray(values, dtype=np.int64), name))
        return name

    def op(self, op_type: str, inputs: list[str], shape: tuple[int, ...], **attrs) -> GraphValue:
        name = self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [name], **attrs))
        return GraphValue(self, name, tuple(shape))

    def reduce(self, op_type: str, x: GraphValue, axes: tuple[int, ...] | None) -> GraphValue:
        """ReduceX over `axes` (all when None); axes are an input from opset 18 (ReduceSum: 13).

        Reduced with keepdims=1, then reshaped: with keepdims=0, ORT 1.19's gradient of a Sqrt after a full
        ReduceSum gets a shape its ReduceMean gradient rejects ("Incompatible dimensions" in an Expand).
        """
        rank = len(x.shape)
        axes = tuple(range(rank)) if axes is None else tuple(a % rank for a in axes)
        kept = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        if self.opset >= (13 if op_type == "ReduceSum" else 18):
            reduced = self.op(op_type, [x.name, self.int_const(list(axes))], kept, keepdims=1)
        else:
            reduced = self.op(op_type, [x.name], kept, axes=list(axes), keepdims=1)
        shape = tuple(d for i, d in enumerate(x.shape) if i not in axes)
        return self.op("Reshape", [reduced.name, self.int_const(list(shape))], shape)

    def output(self, value: GraphValue, name: str) -> onnx.ValueInfoProto:
        """Expose `value` as a graph output called `name` (through an Identity)."""
        self.nodes.append(helper.make_node("Identity", [value.name], [name]))
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape))


class Reduced(NamedTuple):
    values: GraphValue


class GraphValue:
    """A float32 graph tensor with a static shape; arithmetic on it appends ONNX nodes to its builder."""

    __array_ufunc__ = None  # numpy arrays on the left defer to our reflected operators

    def __init__(self, builder: GraphBuilder, name: str, shape: tuple[int, ...]) -> None:
        self.builder, self.name, self.shape = builder, name, shape

    def _lift(self, other) -> GraphValue:
        return other if isinstance(other, GraphValue) else self.builder.const(other)

    def _binary(self, op_type: str, other, reflected: bool = False) -> GraphValue:
        other = self._lift(other)
        a, b = (other, self) if reflected else (self, other)
        return self.builder.op(op_type, [a.name, b.name], np.broadcast_shapes(a.shape, b.shape))

    def __add__(self, other):
        return self._binary("Add", other)

    def __radd__(self, other):
        if isinstance(other, (int, float)) and other == 0:  # Python's sum() starts at 0
            return self
        return self._binary("Add", other, reflected=True)

    def __sub__(self, other):
        return self._binary("Sub", other)

    def __rsub__(self, other):
        return self._binary("Sub", other, reflected=True)

    def __mul__(self, other):
        return self._binary("Mul", other)

    def __rmul__(self, other):
        return self._binary("Mul", other, reflected=True)

    def __truediv__(self, other):
        return self._binary("Div", other)

    def __rtruediv__(self, other):
        return self._binary("Div", other, reflected=True)

    def __neg__(self):
        return self.builder.op("Neg", [self.name], self.shape)

    def __abs__(self):
        return self.builder.op("Abs", [self.name], self.shape)

    def __pow__(self, exponent):
        if exponent == 2:
            return self * self
        if exponent == 0.5:
            return self.sqrt()
        return self._binary("Pow", exponent)

    def sqrt(self):
        return self.builder.op("Sqrt", [self.name], self.shape)

    def clamp_min(self, low: float):
        shifted = self if low == 0 else self - low
        out = self.builder.op("Relu", [shifted.name], self.shape)
        return out if low == 0 else out + low

    def clip(self, min: float):  # noqa: A002 - numpy's and torch's keyword
        return self.clamp_min(min)

    def float(self):
        return self

    def dim(self) -> int:
        return len(self.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def sum(self):
        return self.builder.reduce("ReduceSum", self, None)

    def mean(self, dim: tuple[int, ...] | int | None = None):
        return self.builder.reduce("ReduceMean", self, (dim,) if isinstance(dim, int) else dim)

    def max(self, dim: int) -> Reduced:
        """Row maxima of an (N, F) value, as a 1-D MaxPool over F: ORT training has no ReduceMax gradient."""
        if len(self.shape) != 2 or dim not in (1, -1):
            raise NotImplementedError("max is lowered for (N, F) values over dim 1 only")
        rows, width = self.shape
        pooled = self.builder.op("MaxPool", [self.reshape(rows, 1, width).name], (rows, 1, 1), kernel_shape=[width])
        return Reduced(pooled.reshape(rows))

    def min(self, dim: int) -> Reduced:
        return Reduced(-(-self).max(dim).values)

    def reshape(self, *shape: int):
        size = int(np.prod(self.shape))
        known = int(np.prod([d for d in shape if d != -1]))
        resolved = tuple(size // known if d == -1 else d for d in shape)
        name = self.builder.int_const(list(shape))
        return self.builder.op("Reshape", [self.name, name], resolved)
