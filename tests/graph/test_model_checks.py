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
            "Inferred elem type differs from existing elem type: (1) vs (7)",
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
    assert f"ONNX shape inference finds a conflict at Conv 'conv1': {conflict}" in line, line
    assert "re-export the model" in line and "strict_mode=True" in line
