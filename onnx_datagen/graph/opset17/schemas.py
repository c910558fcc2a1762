"""What onnx.defs says about each op after opset 17: when it last changed, and whether a change only widened
the types it accepts. Such a node runs unchanged under opset 17 as long as its own types existed there.
"""

from __future__ import annotations

import onnx
from onnx.defs import OpSchema

from onnx_datagen.graph.opset17.context import TARGET_OPSET, LoweringContext


def since_version(op_type: str, opset: int) -> int | None:
    """The version of `op_type` that a default-domain node reads as at `opset`; None for an op unknown there."""
    try:
        return onnx.defs.get_schema(op_type, opset, "").since_version
    except onnx.defs.SchemaError:
        return None


def changes_after_17(up_to: int) -> list[tuple[str, int]]:
    """Every (op type, version) of the default domain defined after opset 17, up to opset `up_to`."""
    return sorted(
        {
            (s.name, s.since_version)
            for s in onnx.defs.get_all_schemas_with_history()
            if s.domain == "" and TARGET_OPSET < s.since_version <= up_to
        }
    )


def widens_types_only(op_type: str, version: int) -> bool:
    """True when `op_type`-`version` has the opset-17 version's inputs, outputs and attributes (names,
    optionality, attribute types and defaults) and accepts a superset of its types at every position."""
    old, new = _schema(op_type, TARGET_OPSET), _schema(op_type, version)
    if old is None or new is None or _signature(old) != _signature(new):
        return False
    pairs = zip([*old.inputs, *old.outputs], [*new.inputs, *new.outputs])
    return all(_allowed(old, p) <= _allowed(new, q) for p, q in pairs)


def type_missing_at_17(node: onnx.NodeProto, ctx: LoweringContext) -> str | None:
    """The first known input or output type of `node` that its op's opset-17 schema does not accept
    ("input 0 is float8e4m3fn"), or None; None too for an op that did not exist at opset 17."""
    schema = _schema(node.op_type, TARGET_OPSET)
    if schema is None:
        return None
    for kind, names, params in (("input", node.input, schema.inputs), ("output", node.output, schema.outputs)):
        for index, name in enumerate(names):
            param = _formal(params, index)
            elem = ctx.elem_type(name)
            if param is None or not elem:
                continue
            type_name = onnx.TensorProto.DataType.Name(elem).lower()
            if f"tensor({type_name})" not in _allowed(schema, param):
                return f"its {kind} {index} is {type_name}"
    return None


def _schema(op_type: str, version: int) -> OpSchema | None:
    try:
        schema = onnx.defs.get_schema(op_type, version, "")
    except onnx.defs.SchemaError:
        return None
    return schema if schema.since_version <= version else None


def _signature(schema: OpSchema) -> tuple:
    return (
        [(p.name, p.option) for p in schema.inputs],
        [(p.name, p.option) for p in schema.outputs],
        {name: (a.type, a.default_value.SerializeToString()) for name, a in schema.attributes.items()},
    )


def _formal(params: list[OpSchema.FormalParameter], index: int) -> OpSchema.FormalParameter | None:
    if index < len(params):
        return params[index]
    variadic = params and params[-1].option == OpSchema.FormalParameterOption.Variadic
    return params[-1] if variadic else None


def _allowed(schema: OpSchema, param: OpSchema.FormalParameter) -> set[str]:
    constraints = {c.type_param_str: set(c.allowed_type_strs) for c in schema.type_constraints}
    return constraints.get(param.type_str, {param.type_str})
