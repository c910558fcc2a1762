"""Bring an opset 18-21 graph to opset 17, node by node, without onnx's version converter.

Each default-domain node is read at the model's opset. An op unchanged since 17 stays; a changed one is
rewritten by its registered lowering, refused when it has no opset-17 form, or relabelled when the change
only widened types (and the node's own types existed at 17). Anything else is refused, naming the node.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import onnx

from onnx_datagen.graph.constants import constant_tensors
from onnx_datagen.graph.load import convert_opset, opset_version
from onnx_datagen.graph.opset17.context import TARGET_OPSET, LoweringContext
from onnx_datagen.graph.opset17.refused import NO_OPSET17_FORM
from onnx_datagen.graph.opset17.registry import LOWERINGS
from onnx_datagen.graph.opset17.schemas import since_version, type_missing_at_17, widens_types_only

# The newest opset whose changes were reviewed op by op (tests/graph/test_opset_lowering.py checks the coverage).
NEWEST_OPSET = 21
DEFAULT_DOMAINS = ("", "ai.onnx")


@dataclass(frozen=True)
class LoweredModel:
    model: onnx.ModelProto  # at opset 17 (the input itself when it was at 17 or below)
    rewritten: list[str]  # op types whose nodes were rewritten; other changed ops were only relabelled


def lower_to_opset17(model: onnx.ModelProto) -> LoweredModel:
    """The model at opset 17 (the input is not modified), or a one-line ModelError naming the node that has
    no opset-17 form and the fix. Opsets above NEWEST_OPSET go through onnx's converter to it first."""
    opset = opset_version(model)
    if opset <= TARGET_OPSET:
        return LoweredModel(model, [])
    if opset > NEWEST_OPSET:  # onnx's converter as a last resort, for the opsets not reviewed here
        fix = f"re-export the model at opset {NEWEST_OPSET} or lower (from PyTorch: torch.onnx.export's default, 20)"
        model = convert_opset(model, NEWEST_OPSET, f"(datagen lowers opsets up to {NEWEST_OPSET} itself)", fix)
        opset = NEWEST_OPSET
    lowered = onnx.ModelProto()
    lowered.CopyFrom(model)
    rewritten: set[str] = set()
    names = _tensor_names(lowered)
    ctx = LoweringContext(opset, constant_tensors(lowered), _inferred_types(lowered), names)
    _lower_nodes(lowered.graph.node, ctx, rewritten)
    _drop_unread_constants(lowered.graph)
    for function in lowered.functions:  # its own opset, constants and names; types are not inferred there
        function_opset = _default_opset(function.opset_import) or opset
        constants = constant_tensors(onnx.ModelProto(graph=onnx.GraphProto(node=function.node)))
        _lower_nodes(function.node, LoweringContext(function_opset, constants, {}, names), rewritten)
    for imports in [lowered.opset_import, *(f.opset_import for f in lowered.functions)]:
        for entry in imports:
            if entry.domain in DEFAULT_DOMAINS:
                entry.version = TARGET_OPSET
    return LoweredModel(lowered, sorted(rewritten))


def _lower_nodes(nodes, ctx: LoweringContext, rewritten: set[str]) -> None:
    """Replace `nodes` (a repeated NodeProto field) by their opset-17 form, subgraphs included."""
    lowered = []
    for node in nodes:
        for attr in node.attribute:
            for subgraph in [attr.g] if attr.HasField("g") else attr.graphs:
                ctx.constants.update(constant_tensors(onnx.ModelProto(graph=subgraph)))
                _lower_nodes(subgraph.node, ctx, rewritten)
        replacement = _lower_node(node, ctx)
        if replacement != [node]:
            rewritten.add(node.op_type)
        lowered.extend(replacement)
    del nodes[:]
    nodes.extend(lowered)


def _lower_node(node: onnx.NodeProto, ctx: LoweringContext) -> list[onnx.NodeProto]:
    version = since_version(node.op_type, ctx.opset) if node.domain in DEFAULT_DOMAINS else None
    if version is None or version <= TARGET_OPSET:
        return [node]
    missing = type_missing_at_17(node, ctx)
    if missing:
        ctx.refuse(node, f"{missing}, a type opset {TARGET_OPSET}'s {node.op_type} does not take")
    lowering = LOWERINGS.get((node.op_type, version))
    if lowering is not None:
        return lowering(node, ctx)
    if node.op_type in NO_OPSET17_FORM:
        ctx.refuse(node, f"{NO_OPSET17_FORM[node.op_type]} and has no opset-{TARGET_OPSET} form")
    if widens_types_only(node.op_type, version):
        return [node]
    ctx.refuse(node, f"{node.op_type}-{version} changed after opset {TARGET_OPSET} and datagen has no rewrite for it")


def _drop_unread_constants(graph: onnx.GraphProto) -> None:
    """Drop the initializers and Constant nodes nothing reads any more (an axes input that became an attribute):
    onnxruntime warns about each unused initializer."""
    graphs = list(_graphs(graph))
    read = {name for g in graphs for node in g.node for name in node.input}
    read.update(value.name for g in graphs for value in [*g.input, *g.output])  # an initializer that is an input stays
    kept = [t for t in graph.initializer if t.name in read]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    for g in graphs:
        nodes = [n for n in g.node if n.op_type != "Constant" or any(out in read for out in n.output)]
        del g.node[:]
        g.node.extend(nodes)


def _inferred_types(model: onnx.ModelProto) -> dict[str, onnx.TypeProto]:
    """Tensor name -> type for every tensor shape inference types, subgraphs included; {} when it cannot run."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # lowerings that need a type or shape refuse on their own when it is missing
        return {}
    types = {}
    for graph in _graphs(inferred.graph):
        for value in [*graph.input, *graph.output, *graph.value_info]:
            types[value.name] = value.type
        for tensor in graph.initializer:
            types[tensor.name] = onnx.helper.make_tensor_type_proto(tensor.data_type, list(tensor.dims))
    return types


def _tensor_names(model: onnx.ModelProto) -> set[str]:
    names = set()
    for graph in _graphs(model.graph):
        names.update(v.name for v in [*graph.input, *graph.output, *graph.value_info])
        names.update(t.name for t in graph.initializer)
        names.update(name for node in graph.node for name in [*node.input, *node.output])
    names.update(name for f in model.functions for node in f.node for name in [*node.input, *node.output])
    return names


def _graphs(graph: onnx.GraphProto) -> Iterable[onnx.GraphProto]:
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            for subgraph in [attr.g] if attr.HasField("g") else attr.graphs:
                yield from _graphs(subgraph)


def _default_opset(imports) -> int:
    return next((entry.version for entry in imports if entry.domain in DEFAULT_DOMAINS), 0)
