"""Graph patterns of files other people made: Paddle's Constant-node weights, the default domain spelled "ai.onnx",
dead BN channels, BN decomposed into elementwise ops, conv nets that never had BN. Each is read, inspected and
generated for; `inspect` agrees with `generate`."""

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnx_datagen.graph.bn import bn_verdict, find_bn_sites
from onnx_datagen.graph.normalize import with_plain_constants
from onnx_datagen.graph.prepare import prepare_model
from onnx_datagen.run.inspect import inspect
from tests.cli.test_cli import run
from tests.conftest import bn_model, ort_run, save

TINY_RUN = ["--n-iter", "3", "-n", "4", "--batch-size", "4", "--format", "npy", "-q"]


def constants_as_nodes(model: onnx.ModelProto) -> onnx.ModelProto:
    """Every initializer as a Constant node, as Paddle writes its weights."""
    new = onnx.ModelProto()
    new.CopyFrom(model)
    nodes = [helper.make_node("Constant", [], [t.name], value=t) for t in new.graph.initializer]
    del new.graph.initializer[:]
    graph_nodes = nodes + list(new.graph.node)
    del new.graph.node[:]
    new.graph.node.extend(graph_nodes)
    return new


def test_weights_in_constant_nodes_become_initializers_with_the_same_outputs(tmp_path, capsys):
    model = constants_as_nodes(bn_model(seed=1))
    plain = with_plain_constants(model)
    assert not [n for n in plain.graph.node if n.op_type == "Constant"]
    assert {t.name for t in plain.graph.initializer} >= {"w1", "bn1_mean", "fc_w"}
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(ort_run(plain, {"x": x})[0], ort_run(model, {"x": x})[0])
    path = save(model, tmp_path / "paddle.onnx")
    assert inspect(path).method == "bn-inversion"
    code, _, err = run(["generate", path, *TINY_RUN, "-o", tmp_path / "out"], capsys)
    assert code == 0, err


def test_default_domain_spelled_ai_onnx_is_read(tmp_path, capsys):
    model = bn_model(seed=2)
    model.opset_import[0].domain = "ai.onnx"
    onnx.checker.check_model(model)
    assert with_plain_constants(model).opset_import[0].domain == ""
    path = save(model, tmp_path / "domain.onnx")
    code, _, err = run(["generate", path, *TINY_RUN, "-o", tmp_path / "out"], capsys)
    assert code == 0, err


def with_dead_channels(model: onnx.ModelProto, channels: list[int], variance: float = 0.0) -> onnx.ModelProto:
    """bn1's `channels` made dead: conv weights ~1e-9, running variance `variance` (0, or below epsilon)."""
    tensors = {t.name: t for t in model.graph.initializer}
    w, var = numpy_helper.to_array(tensors["w1"]).copy(), numpy_helper.to_array(tensors["bn1_var"]).copy()
    w[channels] = 1e-9
    var[channels] = variance
    tensors["w1"].CopyFrom(numpy_helper.from_array(w, "w1"))
    tensors["bn1_var"].CopyFrom(numpy_helper.from_array(var, "bn1_var"))
    return model


@pytest.mark.parametrize("variance", [0.0, 1e-7])
def test_dead_bn_channels_are_left_out_of_the_loss_and_counted(variance, tmp_path, capsys):
    model = with_dead_channels(bn_model(seed=3), [0, 5], variance)
    site = find_bn_sites(model)[0]
    assert (site.channels, site.dead_channels, site.live) == (6, 2, (1, 2, 3, 4, 6, 7))
    assert bn_verdict(model, find_bn_sites(model)) == "ready"
    prepared = prepare_model(model)
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    outputs = ort_run(prepared.model, {"x": x})
    exposed = outputs[prepared.bn_output_index[0]]
    full = ort_run(prepare_model(bn_model(seed=3)).model, {"x": x})[prepared.bn_output_index[0]]
    assert exposed.shape == (2, 6, 8, 8)
    path = save(model, tmp_path / "dead.onnx")
    report = inspect(path)
    assert report.verdict == "ready" and report.bn_layers[0].dead_channels == 2
    code, out, err = run(["inspect", path], capsys)
    assert "2 dead left out" in out
    code, _, err = run(["generate", path, *TINY_RUN, "-o", tmp_path / "out"], capsys)
    assert code == 0, err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["statistics"]["layers"][1]["channels"] == 6
    assert np.isfinite(manifest["statistics"]["bn_loss_final"])
    assert full.shape[1] == 8  # the view, not the model, drops them


def test_a_negative_variance_is_still_refused(tmp_path, capsys):
    model = with_dead_channels(bn_model(seed=3), [1], variance=-1.0)
    code, _, err = run(["generate", save(model, tmp_path / "neg.onnx"), *TINY_RUN, "-o", tmp_path / "o"], capsys)
    assert code == 1 and "running variance -1 in channel 1" in err and "Traceback" not in err


def decomposed_bn_model(divide: bool) -> onnx.ModelProto:
    """Conv -> Sub(mean) -> Mul(scale) or Div(std) -> Add(beta) -> Relu -> GAP -> Gemm; constants (1, C, 1, 1)."""
    rng = np.random.default_rng(4)

    def const(name, array):
        return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)

    c = 8
    inits = [
        const("w", rng.normal(0, 0.3, (c, 3, 3, 3))),
        const("mean", rng.normal(0, 0.5, (1, c, 1, 1))),
        const("scale", rng.uniform(0.5, 1.5, (1, c, 1, 1))),
        const("beta", rng.normal(0, 0.1, (1, c, 1, 1))),
        const("fc", rng.normal(0, 0.3, (10, c))),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Sub", ["conv", "mean"], ["centred"]),
        helper.make_node("Div" if divide else "Mul", ["centred", "scale"], ["scaled"]),
        helper.make_node("Add", ["scaled", "beta"], ["bn"]),
        helper.make_node("Relu", ["bn"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "decomposed",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("divide", [False, True], ids=["mul-scale", "div-std"])
def test_decomposed_bn_is_recognised_and_its_means_matched(divide, tmp_path, capsys):
    model = decomposed_bn_model(divide)
    (site,) = find_bn_sites(model)
    assert site.input == "conv" and site.channels == 8 and site.std_known is divide
    path = save(model, tmp_path / "decomposed.onnx")
    report = inspect(path)
    assert report.verdict == "ready" and report.method == "bn-inversion"
    code, _, err = run(["generate", path, "--n-iter", "30", "-n", "8", "--batch-size", "8", "-q", "-o", tmp_path / "o"],
                       capsys)  # fmt: skip
    assert code == 0, err
    statistics = json.loads((tmp_path / "o" / "manifest.json").read_text())["statistics"]
    assert statistics["bn_loss_final"] < statistics["bn_loss_initial"]


def test_the_input_normalisation_is_not_a_decomposed_bn():
    model = decomposed_bn_model(divide=True)
    model.graph.node[0].input[0] = "centred_input"
    norm = [
        helper.make_node("Sub", ["x", "in_mean"], ["x_centred"]),
        helper.make_node("Div", ["x_centred", "in_std"], ["centred_input"]),
    ]
    for node in reversed(norm):
        model.graph.node.insert(0, node)
    for name, value in (("in_mean", [0.485, 0.456, 0.406]), ("in_std", [0.229, 0.224, 0.225])):
        model.graph.initializer.append(numpy_helper.from_array(np.float32(value).reshape(1, 3, 1, 1), name))
    assert [s.input for s in find_bn_sites(model)] == ["conv"]


def test_a_prelu_net_that_never_had_bn_is_no_bn_and_still_generates(tmp_path, capsys):
    model = bn_model(folded=True)
    for tensor in model.graph.initializer:  # parameter names, as a BN-free torch model exports them
        tensor.name = tensor.name.replace("onnx::Conv_", "conv.param")
    for node in model.graph.node:
        node.input[:] = [name.replace("onnx::Conv_", "conv.param") for name in node.input]
    assert bn_verdict(model, []) == "bn-folded"  # plain ReLU convs with parameter names: dynamo's folded export
    model.graph.initializer.append(numpy_helper.from_array(np.full((8, 1, 1), 0.25, np.float32), "slope"))
    relu = next(n for n in model.graph.node if n.op_type == "Relu")
    relu.CopyFrom(helper.make_node("PRelu", [relu.input[0], "slope"], list(relu.output)))
    assert bn_verdict(model, []) == "no-bn"
    assert bn_verdict(bn_model(folded=True), []) == "bn-folded"
    path = save(model, tmp_path / "prelu_like.onnx")
    assert inspect(path).method == "prior"
    code, _, err = run(["generate", path, *TINY_RUN, "-o", tmp_path / "o"], capsys)
    assert code == 0 and "no BatchNorm statistics (no-bn)" in err
