"""--preset prior: optimisation without BN statistics, on a model whose BatchNorm was folded away."""

import json

import numpy as np

import onnx_datagen
from onnx_datagen import GenerationConfig
from onnx_datagen.config.presets import load_preset
from onnx_datagen.images.fractal import fractal_pixels
from tests.cli.test_cli import run
from tests.conftest import bn_model, ort_run, save


def test_prior_lowers_its_loss_on_a_folded_model_and_pushes_towards_balanced_classes(tmp_path):
    folded = bn_model(folded=True)
    config = GenerationConfig.from_dict({**load_preset("prior"), "n_iter": 40, "batch_size": 10})
    losses = []
    dataset = onnx_datagen.generate(folded, 20, config, progress=lambda report: losses.append(report.loss))
    assert dataset.manifest["method"] == "prior" and dataset.manifest["statistics"] is None
    assert dataset.manifest["labels"] == [i % 10 for i in range(20)]
    # Measured (40 iterations, random toy weights): 2.88 -> 1.94; targets hit 10 % -> 30 %.
    assert np.mean(losses[-2:]) < 0.8 * np.mean(losses[:2]), (losses[:2], losses[-2:])
    # The start is the fractal set; the optimised images moved from it, towards the balanced targets.
    from onnx_datagen.data.dataset import Dataset

    start = Dataset.from_pixels(fractal_pixels(20, 8, 8, 3, seed=0), *config.normalization.per_channel(3), 1.0)
    assert np.abs(dataset.images - start).mean() > 0.01
    targets = np.arange(20) % 10
    hits_before = (ort_run(folded, {"x": start})[0].argmax(1) == targets).mean()
    hits_after = (ort_run(folded, {"x": dataset.images})[0].argmax(1) == targets).mean()
    assert hits_after > hits_before, (hits_before, hits_after)


def test_cli_prior_on_folded_model(tmp_path, capsys):
    folded = save(bn_model(folded=True), tmp_path / "folded.onnx")
    args = ["generate", folded, "--preset", "prior", "--n-iter", "3", "-n", "4", "-q", "-o", tmp_path / "calib"]
    code, _, err = run(args, capsys)
    assert code == 0, err
    manifest = json.loads((tmp_path / "calib" / "manifest.json").read_text())
    assert manifest["config"]["init"] == "fractal" and manifest["labels"] == [0, 1, 2, 3]


def layernorm_model():
    """Conv stem -> LayerNormalization -> Relu -> GlobalAveragePool -> Flatten -> Gemm: no running statistics."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def init(name, shape):
        return numpy_helper.from_array(rng.normal(0, 0.3, shape).astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("LayerNormalization", ["c", "g", "b"], ["n"], axis=-1),
        helper.make_node("Relu", ["n"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "fc"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "ln",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        [init("w", (8, 3, 3, 3)), init("g", (8,)), init("b", (8,)), init("fc", (10, 8))],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_layernorm_model_gets_the_no_bn_verdict_and_both_presets_work(tmp_path, capsys):
    path = save(layernorm_model(), tmp_path / "ln.onnx")
    code, out, _ = run(["inspect", path], capsys)
    assert code == 0 and "verdict   no-bn" in out and "--preset prior" in out and "folded" not in out
    code, _, err = run(["generate", path, "--method", "bn-inversion", "-q", "-o", tmp_path / "bn"], capsys)
    assert code == 1 and "no BatchNormalization layers" in err and "--preset fractal or --preset prior" in err
    # The default (--method auto) makes a set anyway, with the prior preset, and records it.
    code, _, err = run(["generate", path, "--n-iter", "2", "-n", "4", "-q", "-o", tmp_path / "auto"], capsys)
    assert code == 0 and "no BatchNorm statistics (no-bn)" in err and "prior preset" in err
    manifest = json.loads((tmp_path / "auto" / "manifest.json").read_text())
    assert manifest["method"] == "prior" and manifest["config"]["optimizer"] == "adam"
    assert manifest["config"]["n_iter"] == 2  # the user's choice outlives the preset's
    assert manifest["method_choice"] == "auto: no-bn model, no BN statistics to invert"
    for preset in ("fractal", "prior"):
        args = ["generate", path, "--preset", preset, "--n-iter", "2", "-n", "4", "-q", "-o", tmp_path / preset]
        code, _, err = run(args, capsys)
        assert code == 0, err
