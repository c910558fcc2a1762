"""What a broken file looks like, found before any engine sees it: every check names the tensor or node at fault and
says what to do. The ONNX checker passes all of these; left in, each surfaced later as a traceback from onnx2torch or
torch, or as a NaN loss that read like a learning-rate problem."""

from __future__ import annotations

import numpy as np
import onnx

from onnx_datagen.errors import ModelError
from onnx_datagen.graph.constants import constant_tensors, unique_node_names
from onnx_datagen.graph.image_input import graph_inputs

REEXPORT = "the file is corrupt: re-export the model"
_WEIGHTED = {"Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization", "PRelu", "InstanceNormalization"}


def validate_model(model: onnx.ModelProto, label: str) -> None:
    """Refuse, in one line, a model whose outputs, weights or convolutions cannot be right."""
    _refuse(model, label, (_outputs, _empty_weights, _non_finite_values, _convolutions, _bn_parameters))


def validate_convolutions(model: onnx.ModelProto, label: str) -> None:
    """The Conv checks alone: again once shape inference has declared the inputs of Convs deeper in the graph."""
    _refuse(model, label, (_convolutions,))


def _refuse(model: onnx.ModelProto, label: str, checks) -> None:
    for check in checks:
        problem = check(model)
        if problem:
            raise ModelError(f"{label}: {problem}")


def _outputs(model: onnx.ModelProto) -> str | None:
    names = [o.name for o in model.graph.output]
    if not names:
        return "the graph has no outputs; re-export the model with its outputs"
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        return f"the graph lists output {repeated[0]!r} more than once; {REEXPORT}"
    made = {o for node in model.graph.node for o in node.output}
    made |= {t.name for t in model.graph.initializer} | {i.name for i in model.graph.input}
    missing = [n for n in names if n not in made]
    if missing:
        return f"output {missing[0]!r} is made by no node of the graph; {REEXPORT}"
    return None


def _empty_weights(model: onnx.ModelProto) -> str | None:
    """A layer weight with no values (a zero in its shape): other empty tensors (Resize's roi) are normal."""
    weights = {t.name: list(t.dims) for t in model.graph.initializer}
    for node, name in zip(model.graph.node, unique_node_names(model)):
        if node.op_type not in _WEIGHTED:
            continue
        for tensor in node.input[1:]:
            if 0 in weights.get(tensor, [1]):
                return f"{node.op_type} {name!r} has an empty weight {tensor!r} (shape {weights[tensor]}); {REEXPORT}"
    return None


def _non_finite_values(model: onnx.ModelProto) -> str | None:
    """NaN or inf in a float initializer or Constant: named with the node that reads it. BN statistics are left to
    graph/bn.py's corrupt_bn, which names the statistic and the channel."""
    readers, statistics = {}, set()
    for node, name in zip(model.graph.node, unique_node_names(model)):
        for slot, tensor in enumerate(node.input):
            readers.setdefault(tensor, f"input {slot} of {node.op_type} {name!r}")
        if node.op_type == "BatchNormalization":
            statistics.update(node.input[1:])
    for name, values in constant_tensors(model).items():
        values = np.asarray(values)
        if name in statistics or values.dtype.kind != "f":
            continue
        bad = ~np.isfinite(values)
        if bad.any():
            first = values.reshape(-1)[int(np.argmax(bad.reshape(-1)))]
            where = readers.get(name, "read by no node")
            return (
                f"weight {name!r} ({where}) holds {first} in {int(bad.sum())} of its {values.size} values; the "
                "weights are corrupt: re-export the model from a healthy checkpoint"
            )
    return None


def _convolutions(model: onnx.ModelProto) -> str | None:
    """Conv attributes torch cannot build, and a weight whose input channels do not match what the Conv is fed."""
    weights = {t.name: tuple(t.dims) for t in model.graph.initializer}
    declared = {v.name: v for v in [*model.graph.input, *model.graph.value_info]}
    image_inputs = {i.name for i in graph_inputs(model)}
    for node, name in zip(model.graph.node, unique_node_names(model)):
        if node.op_type != "Conv" or node.domain not in ("", "ai.onnx") or len(node.input) < 2:
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        group = attrs.get("group", 1)
        for key in ("strides", "dilations"):
            if any(v < 1 for v in attrs.get(key, [])):
                return f"Conv {name!r} has {key} {attrs[key]}; each must be at least 1: {REEXPORT}"
        if any(v < 0 for v in attrs.get("pads", [])):
            return f"Conv {name!r} has negative pads {attrs['pads']}; {REEXPORT}"
        shape = weights.get(node.input[1])
        if group < 1 or (shape and shape[0] % group):
            return f"Conv {name!r} has group {group}, which does not divide its {shape[0] if shape else '?'} output "\
                   f"channels; {REEXPORT}"  # fmt: skip
        if not shape or len(shape) < 3:
            continue
        kernel = attrs.get("kernel_shape")
        if kernel is not None and tuple(kernel) != shape[2:]:
            return f"Conv {name!r} declares kernel_shape {list(kernel)} but its weight is {list(shape)}; {REEXPORT}"
        fed = _channels(declared.get(node.input[0]))
        if fed is not None and fed != shape[1] * group:
            source = node.input[0]
            what = f"the image input {source!r}" if source in image_inputs else f"its input {source!r}"
            return (
                f"Conv {name!r} takes {shape[1] * group} input channels (weight {list(shape)}, group {group}) but "
                f"{what} has {fed}; the declared input shape does not fit the weights: re-export the model"
            )
    return None


def _bn_parameters(model: onnx.ModelProto) -> str | None:
    """A BatchNormalization whose scale, bias, mean and variance are not one value per channel each."""
    sizes = {t.name: int(np.prod(t.dims)) for t in model.graph.initializer}
    for node, name in zip(model.graph.node, unique_node_names(model)):
        if node.op_type != "BatchNormalization" or len(node.input) < 5:
            continue
        found = {what: sizes[t] for what, t in zip(("scale", "bias", "running mean", "running variance"),
                                                    node.input[1:5]) if t in sizes}  # fmt: skip
        if len(set(found.values())) > 1:
            listed = ", ".join(f"{what} {size}" for what, size in found.items())
            return f"BatchNormalization {name!r} has parameters of different lengths ({listed}); {REEXPORT}"
    return None


def _channels(value: onnx.ValueInfoProto | None) -> int | None:
    """Axis 1 of a declared 4-D NCHW value, when it is a positive number."""
    if value is None or not value.type.tensor_type.HasField("shape"):
        return None
    dims = value.type.tensor_type.shape.dim
    return dims[1].dim_value if len(dims) >= 3 and dims[1].HasField("dim_value") and dims[1].dim_value > 0 else None
