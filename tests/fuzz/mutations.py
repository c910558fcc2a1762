"""Structure-aware mutations of ONNX models: each takes a model and a seeded generator and breaks one thing the way
real files are broken (a converter's wrong dtype, a hand-edited shape, a truncated download, ...).

A mutation returns the mutated model, or None when the model has nothing it can change. Adding a kind is one function
and one MUTATIONS entry; the fuzz test draws kinds and targets from the case's seed alone, so a failing case replays.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

Mutation = Callable[[onnx.ModelProto, np.random.Generator], "onnx.ModelProto | bytes | None"]
HUGE = 2**62
FLOAT_TYPES = (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16)


def _pick(rng: np.random.Generator, items: list):
    return items[int(rng.integers(len(items)))] if items else None


def _float_initializers(model: onnx.ModelProto) -> list[onnx.TensorProto]:
    return [t for t in model.graph.initializer if t.data_type in FLOAT_TYPES and len(t.dims) > 0]


def _replace_initializer(model: onnx.ModelProto, old: onnx.TensorProto, array: np.ndarray) -> None:
    new = numpy_helper.from_array(array, old.name)
    old.CopyFrom(new)


def _bn_nodes(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    return [n for n in model.graph.node if n.op_type == "BatchNormalization"]


def initializer_dtype(model, rng):
    """A float weight stored as another type (a converter that kept int8 or float64 tensors)."""
    target = _pick(rng, _float_initializers(model))
    if target is None:
        return None
    dtype = _pick(rng, [np.int32, np.int64, np.float64, np.float16, np.uint8, np.bool_])
    _replace_initializer(model, target, numpy_helper.to_array(target).astype(dtype))
    return model


def initializer_shape(model, rng):
    """A weight with one dimension cut, grown, added or dropped."""
    target = _pick(rng, _float_initializers(model))
    if target is None:
        return None
    array = numpy_helper.to_array(target)
    axis = int(rng.integers(array.ndim))
    change = _pick(rng, ["cut", "grow", "add_axis", "drop_axis", "empty"])
    if change == "cut" and array.shape[axis] > 1:
        array = np.take(array, range(array.shape[axis] - 1), axis=axis)
    elif change == "grow":
        array = np.concatenate([array, np.take(array, [0], axis=axis)], axis=axis)
    elif change == "add_axis":
        array = array[None]
    elif change == "drop_axis" and array.ndim > 1:
        array = array.reshape(-1, *array.shape[2:]) if array.ndim > 2 else array.reshape(-1)
    else:
        array = np.zeros([0 if a == axis else s for a, s in enumerate(array.shape)], array.dtype)
    _replace_initializer(model, target, array)
    return model


def non_finite_weight(model, rng):
    """NaN or inf inside a weight or a BN statistic (a diverged training run, a bad export)."""
    target = _pick(rng, _float_initializers(model))
    if target is None:
        return None
    array = numpy_helper.to_array(target).copy()
    array.flat[int(rng.integers(array.size))] = _pick(rng, [np.nan, np.inf, -np.inf])
    _replace_initializer(model, target, array)
    return model


def corrupt_bn_statistics(model, rng):
    """A BN layer's running mean, variance, scale or bias set to NaN, inf, negative, zero or huge values."""
    node = _pick(rng, _bn_nodes(model))
    if node is None:
        return None
    name = node.input[int(rng.integers(1, 5))]
    tensors = {t.name: t for t in model.graph.initializer}
    if name not in tensors:
        return None
    array = numpy_helper.to_array(tensors[name]).copy()
    array[:] = _pick(rng, [np.nan, np.inf, -1.0, 0.0, 1e30, -1e30])
    _replace_initializer(model, tensors[name], array)
    return model


def bn_attribute(model, rng):
    """A BN layer in training mode, or with a negative, NaN or huge epsilon."""
    node = _pick(rng, _bn_nodes(model))
    if node is None:
        return None
    del node.attribute[:]
    choice = _pick(rng, ["training_mode", "epsilon"])
    if choice == "training_mode":
        node.attribute.append(helper.make_attribute("training_mode", 1))
    else:
        node.attribute.append(helper.make_attribute("epsilon", float(_pick(rng, [-1.0, np.nan, 1e30]))))
    return model


def rewire_input(model, rng):
    """A node input pointing at another tensor of the graph (often of another shape)."""
    nodes = [n for n in model.graph.node if n.input]
    node = _pick(rng, nodes)
    if node is None:
        return None
    names = [i.name for i in model.graph.input] + [o for n in model.graph.node for o in n.output]
    slot = int(rng.integers(len(node.input)))
    node.input[slot] = _pick(rng, [n for n in names if n not in node.output] or names)
    return model


def input_dimension(model, rng):
    """The image input declaring a zero, huge, one or symbolic dimension, or another channel count."""
    inputs = [i for i in model.graph.input if i.type.tensor_type.shape.dim]
    value = _pick(rng, inputs)
    if value is None:
        return None
    dims = value.type.tensor_type.shape.dim
    dim = dims[int(rng.integers(len(dims)))]
    new = _pick(rng, [0, 1, 2, 5, HUGE, 2**63 - 1, "sym"])  # int64 holds it: 2**63 - 1 stands in for garbage
    dim.Clear()
    if new == "sym":
        dim.dim_param = "d"
    else:
        dim.dim_value = int(new)
    return model


def input_type(model, rng):
    """The image input declared as an integer, double, half or string tensor."""
    value = _pick(rng, list(model.graph.input))
    if value is None:
        return None
    value.type.tensor_type.elem_type = _pick(
        rng, [TensorProto.INT64, TensorProto.UINT8, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.STRING]
    )
    return model


def opset(model, rng):
    """Another opset number, the default domain spelled ai.onnx, or no default-domain import at all."""
    choice = _pick(rng, ["version", "ai.onnx", "none", "unknown_domain"])
    default = [o for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if choice == "version" and default:
        default[0].version = int(_pick(rng, [1, 6, 7, 9, 10, 11, 12, 13, 18, 21, 22, 99]))
    elif choice == "ai.onnx" and default:
        default[0].domain = "ai.onnx"
    elif choice == "none" and default:
        model.opset_import.remove(default[0])
    elif model.graph.node:
        node = _pick(rng, list(model.graph.node))
        node.domain = "com.example.custom"
        model.opset_import.append(helper.make_opsetid("com.example.custom", 1))
    else:
        return None
    return model


def drop_node(model, rng):
    """A node removed: its output dangles."""
    node = _pick(rng, list(model.graph.node))
    if node is None:
        return None
    model.graph.node.remove(node)
    return model


def cycle(model, rng):
    """A node reading the output of a node after it: a cycle, or an unsorted graph."""
    nodes = list(model.graph.node)
    if len(nodes) < 2:
        return None
    early = int(rng.integers(len(nodes) - 1))
    late = int(rng.integers(early + 1, len(nodes)))
    if not nodes[early].input or not nodes[late].output:
        return None
    nodes[early].input[0] = nodes[late].output[0]
    return model


def deep_graph(model, rng):
    """Thousands of Relu/Identity nodes after the image input: a very deep graph."""
    image = model.graph.input[0].name
    depth = int(_pick(rng, [500, 2000, 5000]))
    names = [image] + [f"deep_{i}" for i in range(depth)]
    chain = [helper.make_node(_pick(rng, ["Relu", "Identity"]), [a], [b]) for a, b in zip(names, names[1:])]
    for node in model.graph.node:
        for slot, name in enumerate(node.input):
            if name == image:
                node.input[slot] = names[-1]
    nodes = chain + list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def external_data(model, rng):
    """A weight whose bytes are said to live in an external file that is missing, or outside the model's folder."""
    target = _pick(rng, _float_initializers(model))
    if target is None:
        return None
    target.ClearField("raw_data")
    target.ClearField("float_data")
    target.data_location = TensorProto.EXTERNAL
    location = _pick(rng, ["missing.bin", "../../etc/passwd", "/etc/hostname"])
    target.external_data.append(onnx.StringStringEntryProto(key="location", value=location))
    return model


def conv_attribute(model, rng):
    """A Conv with zero, negative or huge strides, pads, dilations or group, or a wrong kernel_shape."""
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    node = _pick(rng, convs)
    if node is None:
        return None
    name = _pick(rng, ["strides", "pads", "dilations", "group", "kernel_shape"])
    value = int(_pick(rng, [0, -1, 3, 1000]))
    kept = [a for a in node.attribute if a.name != name]
    del node.attribute[:]
    node.attribute.extend(kept)
    count = {"strides": 2, "pads": 4, "dilations": 2, "kernel_shape": 2}.get(name)
    node.attribute.append(helper.make_attribute(name, [value] * count if count else value))
    return model


def outputs(model, rng):
    """No graph output, an output naming a tensor nobody makes, or a duplicated output."""
    choice = _pick(rng, ["none", "missing", "duplicate"])
    if choice == "none":
        del model.graph.output[:]
    elif choice == "missing":
        model.graph.output.append(helper.make_tensor_value_info("nowhere", TensorProto.FLOAT, None))
    elif model.graph.output:
        model.graph.output.append(copy.deepcopy(model.graph.output[0]))
    else:
        return None
    return model


def ir_version(model, rng):
    model.ir_version = int(_pick(rng, [0, 1, 3, 4, 99]))
    return model


def truncated_bytes(model, rng):
    """The file cut short (an interrupted download), or a few bytes flipped."""
    data = bytearray(model.SerializeToString())
    if rng.random() < 0.5:
        return bytes(data[: int(rng.integers(1, len(data)))])
    for _ in range(int(rng.integers(1, 8))):
        data[int(rng.integers(len(data)))] = int(rng.integers(256))
    return bytes(data)


MUTATIONS: dict[str, Mutation] = {
    f.__name__: f
    for f in (
        initializer_dtype,
        initializer_shape,
        non_finite_weight,
        corrupt_bn_statistics,
        bn_attribute,
        rewire_input,
        input_dimension,
        input_type,
        opset,
        drop_node,
        cycle,
        deep_graph,
        external_data,
        conv_attribute,
        outputs,
        ir_version,
        truncated_bytes,
    )
}


def mutate(model: onnx.ModelProto, seed: int, max_mutations: int = 2) -> tuple[list[str], onnx.ModelProto | bytes]:
    """One to `max_mutations` mutations of a copy of `model`, drawn from `seed`: (their names, the result)."""
    rng = np.random.default_rng(seed)
    result: onnx.ModelProto | bytes = copy.deepcopy(model)
    applied = []
    for _ in range(int(rng.integers(1, max_mutations + 1))):
        if isinstance(result, bytes):
            break
        name = _pick(rng, sorted(MUTATIONS))
        mutated = MUTATIONS[name](result, rng)
        if mutated is not None:
            result, applied = mutated, [*applied, name]
    return applied, result
