"""Graph passes that return a new model and never modify the caller's."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper


def expose_tensors(model: onnx.ModelProto, names: list[str]) -> tuple[onnx.ModelProto, list[int]]:
    """Add each tensor in `names` as an extra graph output.

    Returns the new model and, for every requested name, its index in the new model's outputs
    (a tensor that is already an output, or requested twice, is exposed once). An exposed tensor keeps the
    shape `model` declares for it (prepare_model infers them all first), else just the float element type.
    """
    new = onnx.ModelProto()
    new.CopyFrom(model)
    known = {v.name: v for v in list(new.graph.value_info) + list(new.graph.input)}
    index = {o.name: i for i, o in enumerate(new.graph.output)}
    for name in names:
        if name in index:
            continue
        value = onnx.ValueInfoProto()
        if name in known:
            value.CopyFrom(known[name])
        else:
            value.name = name
            value.type.tensor_type.elem_type = onnx.TensorProto.FLOAT
        index[name] = len(new.graph.output)
        new.graph.output.append(value)
    return new, [index[name] for name in names]


def with_dynamic_batch(model: onnx.ModelProto, input_name: str) -> onnx.ModelProto:
    """Make the batch axis of `input_name` symbolic; stale shapes of inner tensors are dropped."""
    new = onnx.ModelProto()
    new.CopyFrom(model)
    for value in new.graph.input:
        if value.name == input_name:
            value.type.tensor_type.shape.dim[0].Clear()
            value.type.tensor_type.shape.dim[0].dim_param = "N"
    for value in new.graph.output:
        shape = value.type.tensor_type.shape
        if value.type.HasField("tensor_type") and shape.dim:
            shape.dim[0].Clear()
            shape.dim[0].dim_param = "N"
    del new.graph.value_info[:]
    return new


def with_statistics_views(model: onnx.ModelProto, sites: list) -> onnx.ModelProto:
    """`model` with, for every BN site whose `statistics` is a view, the nodes that compute it: the input's channels
    moved to axis 1 (a decomposed BN on NHWC activations), then its live channels gathered (dead ones left out)."""
    views = [s for s in sites if s.statistics != s.input]
    if not views:
        return model
    new = onnx.ModelProto()
    new.CopyFrom(model)
    for site in views:
        tensor = site.input
        if site.channel_axis != 1:
            moved = f"{site.input}/datagen_channels_first"
            rank = site.channel_axis + 1  # decomposed BNs found so far keep channels last
            perm = [0, site.channel_axis] + [a for a in range(1, rank) if a != site.channel_axis]
            new.graph.node.append(helper.make_node("Transpose", [tensor], [moved], name=moved, perm=perm))
            tensor = moved
        if site.live is not None:
            indices = f"{site.input}/datagen_live_channels"
            new.graph.initializer.append(numpy_helper.from_array(np.asarray(site.live, dtype=np.int64), indices))
            new.graph.node.append(
                helper.make_node("Gather", [tensor, indices], [site.statistics], name=indices, axis=1)
            )
        else:
            new.graph.node[-1].output[0] = site.statistics
    return new
