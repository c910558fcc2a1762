"""Opset 18-21 graphs lowered to opset 17 by our own per-op rewrites (onnx_datagen.graph.opset17).

Each rewrite is checked on its op alone: a one-node (or few-node) model at the new opset runs in onnxruntime,
is lowered to 17, and the lowered model runs in onnxruntime and, where onnx2torch converts the op, through
onnx2torch as the torch engine does. Tolerances: onnxruntime on the lowered graph runs the same kernels on
the same numbers, so it must match exactly, except where an op becomes a formula (Gelu, Mish: a fused kernel
against its composed ops, a few float32 roundings apart, 1e-6). torch computes with its own float32 kernels
(another summation order, erf and interpolation arithmetic), so it matches within float32 rounding: 1e-5
relative, 1e-6 absolute.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnx_datagen.errors import ModelError
from onnx_datagen.graph.load import opset_version
from onnx_datagen.graph.normalize import needs_normalization, normalize_graph
from onnx_datagen.graph.opset17 import NEWEST_OPSET, lower_to_opset17
from onnx_datagen.graph.opset17.refused import NO_OPSET17_FORM
from onnx_datagen.graph.opset17.registry import LOWERINGS
from onnx_datagen.graph.opset17.schemas import changes_after_17, since_version, widens_types_only
from onnx_datagen.run.inspect import inspect as inspect_model
from tests.conftest import bn_model, ort_run, save

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 3, 8, 10)).astype(np.float32)

# Ops whose every change from 17 to 21 only widened the accepted types (float8, int4, bfloat16, string, bool,
# optional/sequence passthrough): relabelled to opset 17, a node on a type 17 lacks is refused by the type check.
RELABELLED = {
    ("Constant", 19), ("Constant", 21), ("ConstantOfShape", 20), ("ConstantOfShape", 21),
    ("DequantizeLinear", 19), ("Equal", 19), ("Flatten", 21), ("Identity", 19), ("Identity", 21),
    ("If", 19), ("If", 21), ("IsInf", 20), ("IsNaN", 20), ("Loop", 19), ("Loop", 21),
    ("OptionalGetElement", 18), ("QLinearMatMul", 21), ("Reshape", 19), ("Reshape", 21),
    ("Scan", 19), ("Scan", 21), ("Shape", 19), ("Shape", 21), ("Size", 19), ("Size", 21),
    ("Squeeze", 21), ("Transpose", 21), ("Unsqueeze", 21),
}  # fmt: skip


def test_every_op_changed_after_17_is_rewritten_refused_or_relabelled():
    changes = changes_after_17(NEWEST_OPSET)
    assert ("Pad", 18) in changes and ("Gelu", 20) in changes  # onnx.defs is read, not an empty list
    for op, version in changes:
        ways = [(op, version) in LOWERINGS, op in NO_OPSET17_FORM, widens_types_only(op, version)]
        # ScatterElements/ScatterND-18 keep their signature but gained reductions: their lowering checks them.
        assert ways[0] or sum(ways) == 1, f"{op}-{version}: {ways}"
    relabelled = {(op, v) for op, v in changes if (op, v) not in LOWERINGS and op not in NO_OPSET17_FORM}
    assert relabelled == RELABELLED
    assert all(widens_types_only(op, v) for op, v in relabelled)
    for op, version in LOWERINGS:  # every registration names a real change
        assert since_version(op, version) == version, (op, version)


def value_info(name, array):
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(array.dtype), array.shape)


def model_at(opset, nodes, inputs, outputs, constants=None):
    """A model at `opset` from nodes; inputs and constants are name -> array, outputs name -> elem type."""
    graph = helper.make_graph(
        nodes,
        "op",
        [value_info(n, a) for n, a in inputs.items()],
        [helper.make_tensor_value_info(n, t, None) for n, t in outputs.items()],
        [numpy_helper.from_array(np.asarray(a), n) for n, a in (constants or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    model = onnx.shape_inference.infer_shapes(model)  # the outputs' shapes, which the checker requires
    onnx.checker.check_model(model, full_check=True)
    return model


def one_node(op, opset, inputs, constants=None, outputs=("y",), out_type=TensorProto.FLOAT, **attrs):
    """One node named "n" reading the graph inputs, then the constants; a constant named "_..." is an omitted
    optional input."""
    names = [*inputs, *(constants or {})]
    node = helper.make_node(op, [n if not n.startswith("_") else "" for n in names], list(outputs), name="n", **attrs)
    constants = {n: a for n, a in (constants or {}).items() if not n.startswith("_")}
    return model_at(opset, [node], inputs, dict.fromkeys(outputs, out_type), constants)


def torch_run(model, feeds):
    import torch

    from onnx_datagen.engines.torch.engine import import_onnx2torch

    module = import_onnx2torch().convert(model).eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = module(*[torch.from_numpy(feeds[i.name]) for i in model.graph.input])
    return [r.numpy() for r in (result if isinstance(result, (list, tuple)) else [result])]


def check_lowering(model, feeds, *, torch=True, formula=False, rewritten=True):
    """Lower `model`; the lowered graph must be valid opset 17 and compute the same outputs (exactly in
    onnxruntime, unless `formula`: the op became other kernels)."""
    expected = ort_run(model, feeds)
    result = lower_to_opset17(model)
    lowered = result.model
    assert opset_version(lowered) == 17 and opset_version(model) > 17
    assert bool(result.rewritten) == rewritten, result.rewritten
    onnx.checker.check_model(lowered, full_check=True)
    for got, want in zip(ort_run(lowered, feeds), expected):
        if formula:
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        else:
            np.testing.assert_array_equal(got, want)
    if torch:
        for got, want in zip(torch_run(lowered, feeds), expected):
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    return lowered


def i64(*values):
    return np.array(values, dtype=np.int64)


def f32(*values):
    return np.array(values, dtype=np.float32)


@pytest.mark.parametrize("opset", [18, 19, 21])
@pytest.mark.parametrize(
    "mode, constants, torch",
    [
        # Channels padded 1 before and 2 after, the last axis 2 and 0: ResNet option-A and TF-SAME patterns.
        ("constant", {"pads": i64(1, 2, 2, 0), "_value": None, "axes": i64(1, -1)}, True),
        ("reflect", {"pads": i64(1, 2, 2, 0), "_value": None, "axes": i64(2, 3)}, True),
        ("edge", {"pads": i64(0, 2, 1, 3), "_value": None, "axes": i64(-2, -1)}, True),
        # onnx2torch takes no constant_value input, nor reflect/edge padding of the channels: onnxruntime only.
        ("constant", {"pads": i64(1, 2, 2, 0), "value": f32(0.5), "axes": i64(1, -1)}, False),
        ("edge", {"pads": i64(1, 1), "_value": None, "axes": i64(1)}, False),
    ],
)
def test_pad_with_axes_input(opset, mode, constants, torch):
    model = one_node("Pad", opset, {"x": X}, constants, mode=mode)
    lowered = check_lowering(model, {"x": X}, torch=torch)
    assert [n.op_type for n in lowered.graph.node] == ["Constant", "Pad"] and len(lowered.graph.node[1].input) <= 3
    assert not {"pads", "axes"} & {t.name for t in lowered.graph.initializer}  # unread: onnxruntime would warn


def test_pad_without_axes_is_relabelled():
    model = one_node("Pad", 20, {"x": X}, {"pads": i64(0, 2, 0, 0, 0, 2, 0, 0)}, mode="constant")
    lowered = check_lowering(model, {"x": X}, rewritten=False)
    assert lowered.graph.node[0] == model.graph.node[0]


@pytest.mark.parametrize(
    "op",
    [
        "ReduceMean",
        "ReduceMax",
        "ReduceMin",
        "ReduceProd",
        "ReduceL1",
        "ReduceL2",
        "ReduceLogSum",
        "ReduceLogSumExp",
        "ReduceSumSquare",
    ],
)
@pytest.mark.parametrize("axes, keepdims", [((2, 3), 0), ((-1,), 1), ((), 1)])
def test_reduce_axes_input_becomes_attribute(op, axes, keepdims):
    x = np.abs(X) + 0.5 if op in ("ReduceLogSum", "ReduceProd") else X  # logs of positive values, products near 1
    x = (x / 2 + 0.5).astype(np.float32) if op == "ReduceProd" else x
    constants = {"axes": i64(*axes)} if axes else {}
    model = one_node(op, 18, {"x": x}, constants, keepdims=keepdims)
    lowered = check_lowering(model, {"x": x}, rewritten=bool(axes))
    node = lowered.graph.node[-1]
    assert node.op_type == op and list(node.input) == ["x"]


@pytest.mark.parametrize("opset", [18, 20])
def test_reduce_with_empty_axes_and_noop_is_identity(opset):
    model = one_node("ReduceMax", opset, {"x": X}, noop_with_empty_axes=1)
    lowered = check_lowering(model, {"x": X})
    assert [n.op_type for n in lowered.graph.node] == ["Identity"]


def test_reduce_with_run_time_axes_is_refused():
    node = helper.make_node("ReduceMean", ["x", "axes"], ["y"], name="n")
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, X.shape)]
    inputs.append(helper.make_tensor_value_info("axes", TensorProto.INT64, [2]))
    graph = helper.make_graph([node], "op", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    with pytest.raises(ModelError, match=r"ReduceMean 'n' from opset 18 to 17: its axes \('axes'\) are computed"):
        lower_to_opset17(model)


@pytest.mark.parametrize("size, parts", [(8, 3), (9, 3), (10, 4)])
def test_split_num_outputs_becomes_sizes(size, parts):
    x = RNG.standard_normal((2, size, 4)).astype(np.float32)
    outputs = [f"y{i}" for i in range(parts)]
    model = one_node("Split", 18, {"x": x}, outputs=outputs, axis=1, num_outputs=parts)
    lowered = check_lowering(model, {"x": x})
    sizes = numpy_helper.to_array(lowered.graph.node[0].attribute[0].t)
    assert sizes.sum() == size and len(sizes) == parts


def test_split_with_sizes_input_is_relabelled():
    model = one_node("Split", 18, {"x": X}, {"split": i64(1, 2)}, outputs=["a", "b"], axis=1)
    check_lowering(model, {"x": X}, rewritten=False)


def test_split_of_an_unknown_size_is_refused():
    model = one_node("Split", 18, {"x": X}, outputs=["a", "b"], axis=0, num_outputs=2)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
    with pytest.raises(ModelError, match="splits axis 0, of unknown size, into 2 parts; give that axis a static size"):
        lower_to_opset17(model)


RESIZE_DEFAULTS = {"antialias": 0, "keep_aspect_ratio_policy": "stretch"}


NEAREST = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
LINEAR = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}


@pytest.mark.parametrize("opset", [18, 19])
@pytest.mark.parametrize(
    "inputs, attrs, exact",
    [
        # The modes torch's exporter writes for F.interpolate (nearest, bilinear), which onnx2torch converts.
        ({"_roi": None, "scales": f32(1, 1, 2, 2)}, NEAREST, True),
        ({"_roi": None, "scales": f32(1, 1, 2, 4)}, LINEAR, True),
        ({"_roi": None, "_scales": None, "sizes": i64(2, 3, 16, 20)}, LINEAR, True),
        ({"_roi": None, "scales": f32(2, 0.5)}, {**LINEAR, "axes": [2, 3]}, True),
        ({"_roi": None, "_scales": None, "sizes": i64(16, 5)}, {**NEAREST, "axes": [-2, -1]}, True),
        # onnxruntime upscales with antialias=1 through its antialiasing kernel, a float32 rounding apart.
        ({"_roi": None, "scales": f32(2, 2)}, {**LINEAR, "axes": [2, 3], "antialias": 1}, False),
    ],
)
def test_resize_new_attributes_are_dropped_or_spread(opset, inputs, attrs, exact):
    model = one_node("Resize", opset, {"x": X}, inputs, **{**RESIZE_DEFAULTS, **attrs})
    lowered = check_lowering(model, {"x": X}, formula=not exact)
    resize = lowered.graph.node[-1]
    assert not {a.name for a in resize.attribute} & {"antialias", "axes", "keep_aspect_ratio_policy"}


@pytest.mark.parametrize(
    "attrs, message",
    [
        ({"coordinate_transformation_mode": "half_pixel_symmetric"}, "half_pixel_symmetric"),
        ({"antialias": 1, "mode": "linear"}, "antialias=1 on a possible downscale"),
    ],
)
def test_resize_that_17_cannot_express_is_refused(attrs, message):
    model = one_node("Resize", 19, {"x": X}, {"_roi": None, "scales": f32(1, 1, 0.5, 0.5)}, **attrs)
    with pytest.raises(ModelError, match=message):
        lower_to_opset17(model)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_becomes_its_formula(approximate):
    x = (X * 3).astype(np.float32)
    model = one_node("Gelu", 20, {"x": x}, approximate=approximate)
    lowered = check_lowering(model, {"x": x}, formula=True)
    assert "Gelu" not in {n.op_type for n in lowered.graph.node}


def test_mish_becomes_its_formula():
    x = (X * 3).astype(np.float32)
    lowered = check_lowering(one_node("Mish", 18, {"x": x}), {"x": x}, formula=True)
    assert [n.op_type for n in lowered.graph.node] == ["Softplus", "Tanh", "Mul"]


@pytest.mark.parametrize("opset", [19, 21])
@pytest.mark.parametrize("to", [TensorProto.FLOAT16, TensorProto.INT32])
def test_cast_drops_saturate(opset, to):
    model = one_node("Cast", opset, {"x": X * 100}, out_type=to, to=to, saturate=1)
    check_lowering(model, {"x": (X * 100).astype(np.float32)}, torch=to == TensorProto.INT32)


def test_average_pool_drops_unit_dilations_and_refuses_others():
    attrs = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [2, 2], "count_include_pad": 0}
    # onnxruntime pools through its dilated kernel when the attribute is set, a float32 rounding apart.
    check_lowering(one_node("AveragePool", 19, {"x": X}, dilations=[1, 1], **attrs), {"x": X}, formula=True)
    with pytest.raises(ModelError, match="AveragePool 'n' from opset 19 to 17: dilations=\\[2, 2\\] has no opset-17"):
        lower_to_opset17(one_node("AveragePool", 19, {"x": X}, dilations=[2, 2], **attrs))


def test_lp_pool_drops_default_attributes():  # onnx2torch has no LpPool: onnxruntime only
    model = one_node("LpPool", 18, {"x": X}, kernel_shape=[2, 2], dilations=[1, 1], ceil_mode=0, p=2)
    check_lowering(model, {"x": X}, torch=False)


def test_quantize_and_dequantize_drop_default_block_size():  # onnx2torch has no Q/DQ: onnxruntime only
    constants = {"scale": f32(0.02), "zero": np.array(3, dtype=np.uint8)}
    model = model_at(
        21,
        [
            helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["q"], block_size=0, saturate=1),
            helper.make_node("DequantizeLinear", ["q", "scale", "zero"], ["y"], block_size=0),
        ],
        {"x": X},
        {"y": TensorProto.FLOAT},
        constants,
    )
    check_lowering(model, {"x": X}, torch=False)


@pytest.mark.parametrize("op", ["ScatterElements", "ScatterND"])
def test_scatter_keeps_add_and_refuses_max(op):  # onnx2torch has no reductions here: onnxruntime only
    data = RNG.standard_normal((4, 3)).astype(np.float32)
    indices = i64(1, 3).reshape(2, 1) if op == "ScatterND" else i64(1, 0, 3, 2, 1, 0).reshape(2, 3)
    updates = RNG.standard_normal((2, 3)).astype(np.float32)
    constants = {"indices": indices, "updates": updates}
    model = one_node(op, 18, {"data": data}, constants, reduction="add")
    check_lowering(model, {"data": data}, torch=False, rewritten=False)
    with pytest.raises(ModelError, match="reduction 'max' \\(opset 18\\) has no opset-17 form"):
        lower_to_opset17(one_node(op, 18, {"data": data}, constants, reduction="max"))


@pytest.mark.parametrize("mode", ["linear", "nearest", "cubic"])
def test_grid_sample_modes_take_their_opset16_names(mode):  # onnx2torch has no GridSample: onnxruntime only
    grid = RNG.uniform(-1, 1, (2, 5, 6, 2)).astype(np.float32)
    model = one_node("GridSample", 20, {"x": X, "grid": grid}, mode=mode)
    check_lowering(model, {"x": X, "grid": grid}, torch=False, rewritten=mode != "nearest")


@pytest.mark.parametrize(
    "op, attrs, constants",
    [
        ("Identity", {}, {}),
        ("Reshape", {}, {"shape": i64(2, -1)}),
        ("Flatten", {"axis": 2}, {}),
        ("Transpose", {"perm": [0, 2, 3, 1]}, {}),
        ("Squeeze", {}, {"axes": i64(0)}),
        ("Unsqueeze", {}, {"axes": i64(1)}),
    ],
)
def test_type_widened_ops_are_relabelled(op, attrs, constants):
    x = X[:1] if op == "Squeeze" else X
    model = one_node(op, 21, {"x": x}, constants, **attrs)
    lowered = check_lowering(model, {"x": x}, rewritten=False)
    assert lowered.graph.node[0] == model.graph.node[0]


def test_shape_and_size_are_relabelled():
    nodes = [
        helper.make_node("Shape", ["x"], ["s"], start=1),
        helper.make_node("Size", ["x"], ["n"]),
        helper.make_node("Unsqueeze", ["n", "zero"], ["n1"]),
        helper.make_node("Concat", ["s", "n1"], ["y"], axis=0),
    ]
    model = model_at(21, nodes, {"x": X}, {"y": TensorProto.INT64}, {"zero": i64(0)})
    check_lowering(model, {"x": X}, torch=False, rewritten=False)


def test_a_type_opset_17_lacks_is_refused_naming_it():
    nodes = [
        helper.make_node("Cast", ["x"], ["f8"], name="to_fp8", to=TensorProto.FLOAT8E4M3FN),
        helper.make_node("Cast", ["f8"], ["y"], name="back", to=TensorProto.FLOAT),
    ]
    model = model_at(19, nodes, {"x": X}, {"y": TensorProto.FLOAT})
    with pytest.raises(ModelError, match="Cast 'to_fp8' from opset 19 to 17: its output 0 is float8e4m3fn, a type"):
        lower_to_opset17(model)


def test_ops_without_an_opset17_form_are_refused_in_one_line():
    image = RNG.standard_normal((1, 4, 6)).astype(np.float32)
    model = one_node("Col2Im", 18, {"x": image}, {"size": i64(3, 4), "block": i64(2, 2)})
    with pytest.raises(ModelError) as info:
        lower_to_opset17(model)
    message = str(info.value)
    assert message.startswith("cannot lower Col2Im 'n' from opset 18 to 17: the op is new since opset 17")
    assert "dynamo=False, opset_version=17" in message and "\n" not in message


def test_opsets_newer_than_reviewed_go_through_onnx_converter_first():
    model = one_node("Pad", 23, {"x": X}, {"pads": i64(1, 2), "_value": None, "axes": i64(1)})
    check_lowering(model, {"x": X})
    image = RNG.standard_normal((1, 3, 4)).astype(np.float32)
    model = one_node("RMSNormalization", 23, {"x": image}, {"scale": np.ones(4, np.float32)})
    with pytest.raises(ModelError, match="from opset 23 to 21 .datagen lowers opsets up to 21 itself"):
        lower_to_opset17(model)


def test_nodes_in_subgraphs_are_lowered():
    branch = helper.make_graph(
        [helper.make_node("ReduceMean", ["x", "axes"], ["m"], keepdims=0)],
        "then",
        [],
        [helper.make_tensor_value_info("m", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(i64(2, 3), "axes")],
    )
    other = helper.make_graph(
        [helper.make_node("ReduceMax", ["x", "axes2"], ["m2"], keepdims=0)],
        "else",
        [],
        [helper.make_tensor_value_info("m2", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(i64(2, 3), "axes2")],
    )
    node = helper.make_node("If", ["flag"], ["y"], then_branch=branch, else_branch=other)
    model = model_at(18, [node], {"x": X, "flag": np.array(True)}, {"y": TensorProto.FLOAT})
    for flag in (True, False):
        check_lowering(model, {"x": X, "flag": np.array(flag)}, torch=False)


def test_nodes_in_model_local_functions_are_lowered():
    body = [
        helper.make_node("Constant", [], ["axes"], value=numpy_helper.from_array(i64(2, 3))),
        helper.make_node("ReduceMean", ["x", "axes"], ["m"], keepdims=0),
    ]
    function = helper.make_function("local", "Pool", ["x"], ["m"], body, [helper.make_opsetid("", 18)])
    node = helper.make_node("Pool", ["x"], ["y"], domain="local")
    graph = helper.make_graph([node], "g", [value_info("x", X)], [helper.make_tensor_value_info("y", 1, [2, 3])])
    opsets = [helper.make_opsetid("", 18), helper.make_opsetid("local", 1)]
    model = helper.make_model(graph, opset_imports=opsets, functions=[function])
    model.ir_version = 10
    lowered = check_lowering(model, {"x": X}, torch=False)
    assert [n.op_type for n in lowered.functions[0].node] == ["Constant", "ReduceMean"]
    assert lowered.functions[0].opset_import[0].version == 17


def test_models_at_17_or_below_are_returned_as_they_are(tiny_model):
    assert lower_to_opset17(tiny_model).model is tiny_model


@pytest.fixture(scope="module")
def pad_exports(tmp_path_factory):
    """The export zoo's option-A ResNet (strided slice + channel Pad shortcut, mean head), exported by torch's
    dynamo exporter at its default opset (20) and at 18 with BN kept, with BN folded, and legacy."""
    from tests.export_zoo import EXPORTS, build, export

    root, net = tmp_path_factory.mktemp("pad_exports"), build("option-a-resnet")
    chosen = {"dynamo": (True, None, True), "dynamo18": (True, 18, True), "folded": (True, None, False)}
    chosen["legacy"] = (False, 17, True)
    hows = {key: next(e for e in EXPORTS if (e.dynamo, e.opset, e.bn_kept) == value) for key, value in chosen.items()}
    return {key: export(net, how, root / f"{key}.onnx") for key, how in hows.items()}


def cli(args, capsys):
    from onnx_datagen.cli.main import main

    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out, err


@pytest.mark.parametrize("export, opset", [("dynamo", 20), ("dynamo18", 18)])
def test_dynamo_export_with_pad_is_inspected_and_generates(pad_exports, export, opset, tmp_path, capsys):
    out, _ = cli(["inspect", pad_exports[export]], capsys)
    assert f"(opset {opset}," in out and "verdict   ready" in out and "BatchNorm 3 layer(s)" in out
    assert f"graph     read with constants folded; runs at opset 17, lowered from {opset}" in out
    report = json.loads(cli(["inspect", pad_exports[export], "--json"], capsys)[0])
    assert report["engine_opset"] == 17 and report["constants_folded"] and "ReduceMean" in report["rewritten_ops"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out, err = cli(["generate", pad_exports[export], "-n", "8", "--n-iter", "2", "-o", tmp_path / "out"], capsys)
    assert "wrote 8 bn-inversion images (3x16x16)" in out
    # onnx2torch's Slice deprecation note is not the user's to act on.
    assert not [w for w in caught if "non-tuple sequence" in str(w.message)]


def test_folded_dynamo_export_says_bn_folded_and_runs_fractal(pad_exports, tmp_path, capsys):
    out, _ = cli(["inspect", pad_exports["folded"]], capsys)
    assert "verdict   bn-folded" in out and "runs at opset 17, lowered from 20" in out
    out, _ = cli(["generate", pad_exports["folded"], "--preset", "fractal", "-n", "8", "-o", tmp_path / "f"], capsys)
    assert "wrote 8 fractal images" in out


def test_legacy_export_is_not_called_a_dynamo_export(pad_exports, capsys):
    out, _ = cli(["inspect", pad_exports["legacy"]], capsys)
    assert "graph     read with constants folded; runs at opset 17 as exported" in out
    assert "dynamo" not in out and "verdict   ready" in out


def test_inspect_reports_a_graph_without_opset17_form_as_unsupported(tmp_path):
    model = bn_model(opset=19)
    pool = helper.make_node("AveragePool", ["r2"], ["pooled"], name="pool", kernel_shape=[2, 2], dilations=[2, 2])
    gap = next(n for n in model.graph.node if n.op_type == "GlobalAveragePool")
    gap.input[0] = "pooled"
    model.graph.node.insert(list(model.graph.node).index(gap), pool)
    report = inspect_model(save(model, tmp_path / "dilated.onnx"))
    assert report.verdict == "unsupported" and report.engine_opset is None and len(report.bn_layers) == 2
    assert report.problem.startswith("cannot lower AveragePool 'pool' from opset 19 to 17: dilations=[2, 2]")


def test_legacy_constant_subgraphs_are_folded_for_onnx2torch():
    # torch.onnx.export(dynamo=False, do_constant_folding=False) writes ReLU6 as Clip(x, Cast(0), Cast(6)).
    nodes = [
        helper.make_node("Constant", [], ["lo"], value=numpy_helper.from_array(np.array(0, np.int64))),
        helper.make_node("Constant", [], ["hi"], value=numpy_helper.from_array(np.array(6, np.int64))),
        helper.make_node("Cast", ["lo"], ["lo_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["hi"], ["hi_f"], to=TensorProto.FLOAT),
        helper.make_node("Clip", ["x", "lo_f", "hi_f"], ["y"]),
    ]
    model = model_at(13, nodes, {"x": X * 5}, {"y": TensorProto.FLOAT})
    assert needs_normalization(model)
    folded = normalize_graph(model)
    assert opset_version(folded) == 13 and "Cast" not in {n.op_type for n in folded.graph.node}
    x = (X * 5).astype(np.float32)
    np.testing.assert_array_equal(torch_run(folded, {"x": x})[0], ort_run(model, {"x": x})[0])
