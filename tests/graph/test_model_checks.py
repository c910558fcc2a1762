"""Model-level problems are refused before any work, in one line naming the layer (or input) and the value.

Each case builds a small broken model, runs the real CLI on its file, and checks that nothing was written.
"""

import json

import numpy as np
import pytest
from onnx import TensorProto, numpy_helper
from onnx_datagen.cli.main import main

from onnx_datagen.graph.bn import bn_verdict, find_bn_sites
from tests.conftest import bn_model, save

QUICK = ["-n", "4", "-q"]  # no --n-iter: with a preset it adds a note line; a refusal comes before any


def _one_line_error(tmp_path, capsys, model, *options) -> str:
    """Run `datagen generate` on `model`; it must fail with one line and leave no output folder."""
    out_dir = tmp_path / "out"
    code = main(["generate", str(save(model, tmp_path / "model.onnx")), *QUICK, "-o", str(out_dir), *options])
    _, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("datagen: error: "), err
    assert "Traceback" not in err
    assert not out_dir.exists()  # so no manifest can say "status": "complete"
    return lines[0]


def _edit(model, name: str, edit):
    """`model` with initializer `name` replaced by edit(a copy of its values)."""
    tensor = next(t for t in model.graph.initializer if t.name == name)
    values = numpy_helper.to_array(tensor).copy()
    edit(values)
    tensor.CopyFrom(numpy_helper.from_array(values, name))
    return model


def _set(channels_values):
    def edit(values):
        for channel, value in channels_values:
            values[channel] = value

    return edit


CORRUPT = {
    "negative variance": (
        "bn2_var",
        _set([(7, -0.5), (9, -1.0)]),
        "BatchNormalization 'bn2' has running variance -0.5 in channel 7 (2 of 16 channels negative)",
    ),
    "nan mean": (
        "bn1_mean",
        _set([(2, np.nan)]),
        "BatchNormalization 'bn1' has running mean nan in channel 2 (1 of 8 channels not finite)",
    ),
    "inf variance": (
        "bn2_var",
        _set([(4, np.inf), (5, np.nan)]),
        "BatchNormalization 'bn2' has running variance inf in channel 4 (2 of 16 channels not finite)",
    ),
    "nan scale": (
        "bn2_scale",
        _set([(0, np.nan)]),
        "BatchNormalization 'bn2' has scale nan in channel 0 (1 of 16 channels not finite)",
    ),
    "inf bias": (
        "bn1_bias",
        _set([(6, -np.inf)]),
        "BatchNormalization 'bn1' has bias -inf in channel 6 (1 of 8 channels not finite)",
    ),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_corrupt_bn_statistics_are_named_before_optimising(case, tmp_path, capsys):
    name, edit, message = CORRUPT[case]
    line = _one_line_error(tmp_path, capsys, _edit(bn_model(), name, edit))
    assert message in line and "statistics are corrupt" in line and "--preset fractal" in line, line


@pytest.mark.parametrize("epsilon, shown", [(-1e-3, "-0.001"), (float("nan"), "nan")])
def test_corrupt_epsilon_is_named(epsilon, shown, tmp_path, capsys):
    model = bn_model()
    bn = next(n for n in model.graph.node if n.name == "bn2")
    next(a for a in bn.attribute if a.name == "epsilon").f = epsilon
    assert f"BatchNormalization 'bn2' has epsilon {shown};" in _one_line_error(tmp_path, capsys, model)


def test_statistics_in_constant_nodes_are_checked_too(tmp_path, capsys):
    model = bn_model(stats_as_constants=True)
    node = next(n for n in model.graph.node if n.op_type == "Constant" and n.output[0] == "bn1_var")
    values = numpy_helper.to_array(node.attribute[0].t).copy()
    values[1] = -2.0
    node.attribute[0].t.CopyFrom(numpy_helper.from_array(values, "bn1_var"))
    assert "'bn1' has running variance -2 in channel 1" in _one_line_error(tmp_path, capsys, model)


def test_prior_refuses_corrupt_statistics_and_fractal_needs_none(tmp_path, capsys):
    """prior runs the model (NaN statistics make its outputs NaN); fractal, the suggested way out, never does."""
    model = _edit(bn_model(), "bn1_mean", _set([(0, np.nan)]))
    assert "'bn1' has running mean nan" in _one_line_error(tmp_path, capsys, model, "--preset", "prior")
    out_dir = tmp_path / "fractal"
    code = main(["generate", str(tmp_path / "model.onnx"), *QUICK, "--preset", "fractal", "-o", str(out_dir)])
    assert code == 0, capsys.readouterr().err
    assert json.loads((out_dir / "manifest.json").read_text())["status"] == "complete"


def test_inspect_shows_corrupt_layers_as_a_verdict(tmp_path, capsys):
    path = save(_edit(bn_model(), "bn2_var", _set([(7, -0.5)])), tmp_path / "model.onnx")
    code = main(["inspect", str(path)])
    out, err = capsys.readouterr()
    assert code == 0 and not err
    assert "verdict   corrupt-bn: BatchNormalization 'bn2' has running variance -0.5 in channel 7" in out
    assert main(["inspect", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "corrupt-bn" and "'bn2'" in report["problem"] and len(report["bn_layers"]) == 2


def test_healthy_statistics_are_ready():
    model = bn_model()
    assert bn_verdict(model, find_bn_sites(model)) == "ready"


def test_several_image_inputs_are_named_and_input_picks_one(tmp_path, capsys):
    model = bn_model(extra_input=True)  # x_raw and x2, both float [N, 3, 8, 8]
    line = _one_line_error(tmp_path, capsys, model)
    assert "several image-like inputs ('x_raw', 'x2')" in line and "--input NAME" in line
    line = _one_line_error(tmp_path, capsys, model, "--input", "x_raw")
    assert "inputs besides the image ('x2')" in line
    line = _one_line_error(tmp_path, capsys, model, "--input", "x2")
    assert "inputs besides the image ('x_raw')" in line


def test_input_whose_default_contradicts_its_declaration_is_named(tmp_path, capsys):
    """The issue's traceback ("Inferred shape and existing shape differ in rank"): a second 4-D input whose
    initializer (its default value) has another rank passes the checker and broke only in onnx2torch."""
    model = bn_model(extra_input=True)
    model.graph.initializer.append(numpy_helper.from_array(np.zeros((3, 8, 8), np.float32), "x2"))
    line = _one_line_error(tmp_path, capsys, model)
    assert "input 'x2' is declared [N, 3, 8, 8] but its default value (an initializer) has shape [3, 8, 8]" in line
    assert "('x_raw')" in line


@pytest.mark.parametrize(
    "edit, conflict",
    [
        (lambda v: v.type.tensor_type.shape.dim.pop(), "Inferred shape and existing shape differ in rank: (4) vs (3)"),
        (
            lambda v: setattr(v.type.tensor_type, "elem_type", TensorProto.INT64),
            "BatchNormalization 'bn1': X typestr: T, has unsupported type: tensor(int64)",  # read as declared
        ),
    ],
    ids=["rank", "type"],
)
def test_shape_inference_conflict_names_the_node(edit, conflict, tmp_path, capsys):
    """A value_info contradicting the graph: onnx's default inference skips it, and onnx2torch then built a
    Conv1d for conv1 ("expected 2D or 3D input (got 4D input)" mid-run)."""
    model = bn_model()
    edit(next(v for v in model.graph.value_info if v.name == "c1"))
    line = _one_line_error(tmp_path, capsys, model)
    where = conflict if conflict.startswith("BatchNormalization") else f"Conv 'conv1': {conflict}"
    assert f"ONNX shape inference finds a conflict at {where}" in line, line
    assert "re-export the model" in line and "strict_mode=True" in line


def _input_dims(model, **dims):
    """`model` with its image input's axes (batch/channels/height/width) set to the given values."""
    axes = model.graph.input[0].type.tensor_type.shape.dim
    for axis, value in dims.items():
        dim = axes[["batch", "channels", "height", "width"].index(axis)]
        dim.Clear()
        dim.dim_value = value
    return model


def _retype(model, name, dtype):
    tensor = next(t for t in model.graph.initializer if t.name == name)
    tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor).astype(dtype), name))
    return model


# Files that used to be refused for the wrong reason, or with a traceback (issue 32): each names its real cause.
BROKEN = {
    "nan weight": (lambda m: _edit(m, "w2", lambda v: v.__setitem__((0, 0, 0, 0), np.nan)),
                   "weight 'w2' (input 1 of Conv 'conv2') holds nan in 1 of its 1152 values; the weights are corrupt"),
    "inf in the classifier": (lambda m: _edit(m, "fc_w", lambda v: v.__setitem__((3, 1), -np.inf)),
                              "weight 'fc_w' (input 1 of Gemm"),
    "zero height": (lambda m: _input_dims(m, height=0), "input 'x' declares a height of zero ([N, 3, 0, 8])"),
    "huge batch": (lambda m: _input_dims(m, batch=2**62),
                   f"input 'x' declares a batch of {2**62}, beyond any real image input"),
    "channel mismatch": (lambda m: _input_dims(m, channels=2),
                         "Conv 'conv1' takes 3 input channels (weight [8, 3, 3, 3], group 1) but the image input 'x' "
                         "has 2"),
    "integer weight": (lambda m: _retype(m, "w2", np.int32), "at Conv 'conv2': W"),
    "huge BN statistic": (lambda m: _edit(m, "bn2_mean", lambda v: v.__setitem__(0, 1e30)),
                          "BatchNormalization 'bn2' has running mean 1e+30 in channel 0 (1 of 16 channels beyond 1e15"),
    "overflowing weight": (lambda m: _edit(m, "w1", lambda v: v.__setitem__(slice(None), 1e25)),
                           "computes values beyond float32's reach (inf, NaN or over 1e+18) at 'c1'"),
    "group that does not divide": (lambda m: _conv_attribute(m, "conv2", group=3), "Conv 'conv2' has group 3"),
    "BN parameter lengths": (lambda m: _edit_shape(m, "bn1_scale", 7),
                             "BatchNormalization 'bn1' has parameters of different lengths (scale 7, bias 8"),
    "external data outside the folder": (lambda m: _external(m, "w2", "../../outside.bin"),
                                         "a weight stored outside the file cannot be read"),
    "duplicated output": (lambda m: _with_output(m, m.graph.output[0]),
                          "the graph lists output 'logits' more than once"),
}  # fmt: skip


def _edit_shape(model, name, length):
    tensor = next(t for t in model.graph.initializer if t.name == name)
    tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor)[:length].copy(), name))
    return model


def _external(model, name, location):
    from onnx import StringStringEntryProto

    tensor = next(t for t in model.graph.initializer if t.name == name)
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    tensor.external_data.append(StringStringEntryProto(key="location", value=location))
    return model


def _with_output(model, value):
    model.graph.output.add().CopyFrom(value)
    return model


def _conv_attribute(model, name, **values):
    from onnx import helper

    node = next(n for n in model.graph.node if n.name == name)
    for key, value in values.items():
        node.attribute.append(helper.make_attribute(key, value))
    return model


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_file_is_refused_naming_its_real_cause_in_generate_and_inspect(case, tmp_path, capsys):
    breaking, expected = BROKEN[case]
    model = breaking(bn_model(seed=1))
    message = _one_line_error(tmp_path, capsys, model, "--mean", "0.5", "--std", "0.25")
    assert expected in message, message
    code = main(["inspect", str(tmp_path / "model.onnx"), "--json"])
    out, err = capsys.readouterr()
    said = err if code else json.loads(out)["problem"]
    assert expected in said and (code == 1 or json.loads(out)["method"] is None), said
