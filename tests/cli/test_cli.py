"""The CLI in-process: happy paths, and a one-line error with exit 1 for every user mistake."""

import json

import numpy as np
import pytest
import torch
from onnx_datagen.cli.main import main

from tests.conftest import DIGITS_ARGS, DIGITS_MODEL, DIGITS_TEST, bn_model, save

pytestmark = pytest.mark.environment  # .ci/run reruns these in an unusual caller environment

QUICK = ["--n-iter", "3", "-n", "8", "--batch-size", "4", "-q"]


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_text_and_json(capsys):
    code, out, _ = run(["inspect", DIGITS_MODEL], capsys)
    assert code == 0 and "verdict   ready" in out and "image: float [N, 1, 16, 16]" in out
    code, out, _ = run(["inspect", DIGITS_MODEL, "--json"], capsys)
    report = json.loads(out)
    assert report["verdict"] == "ready" and len(report["bn_layers"]) == 4
    assert report["bn_layers"][0]["channels"] == 16 and report["bn_layers"][0]["producer"] == "Conv"
    assert report["opset"] == 17 and report["image_input"] == "image"


def test_inspect_reports_folded_model(tmp_path, capsys):
    code, out, _ = run(["inspect", save(bn_model(folded=True), tmp_path / "f.onnx")], capsys)
    assert code == 0 and "verdict   bn-folded" in out and "do_constant_folding=False" in out


def test_generate_writes_dataset_and_summary(tmp_path, capsys):
    out_dir = tmp_path / "calib"
    code, out, err = run(
        [
            "generate",
            DIGITS_MODEL,
            *DIGITS_ARGS,
            "--n-iter",
            "3",
            "-n",
            "8",
            "--batch-size",
            "4",
            "-o",
            out_dir,
            "--format",
            "png,npy",
        ],
        capsys,
    )
    assert code == 0, err
    assert "wrote 8 bn-inversion images (1x16x16)" in out and "BN loss" in out
    assert "iter 3/3" in err  # plain progress lines when not on a terminal
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["normalization"]["mean"] == [0.3] and manifest["config"]["n_iter"] == 3
    assert np.load(out_dir / "images.npy").shape == (8, 1, 16, 16)
    assert len(list((out_dir / "png").glob("*.png"))) == 8
    # --overwrite replaces the dataset; --quiet prints nothing
    code, out, err = run(
        [
            "generate",
            DIGITS_MODEL,
            *DIGITS_ARGS,
            *QUICK,
            "-o",
            out_dir,
            "--format",
            "npy",
            "--overwrite",
            "--seed",
            "3",
        ],
        capsys,
    )
    assert code == 0 and out == "" and err == ""
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["seed"] == 3 and not (out_dir / "png").exists()


def test_config_file_and_cli_precedence(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("n_iter: 2\noptimizer: adam\nlr: 0.05\n")
    out_dir = tmp_path / "o"
    code, _, err = run(
        [
            "generate",
            DIGITS_MODEL,
            *DIGITS_ARGS,
            "-n",
            "4",
            "-q",
            "--config",
            tmp_path / "c.yaml",
            "--lr",
            "0.1",
            "-o",
            out_dir,
            "--format",
            "npy",
        ],
        capsys,
    )
    assert code == 0, err
    config = json.loads((out_dir / "manifest.json").read_text())["config"]
    assert (config["n_iter"], config["optimizer"], config["lr"]) == (2, "adam", 0.1)


def _bad_inputs(tmp_path):
    text = tmp_path / "notes.onnx"
    text.write_text("this is not a model\n")
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("x")
    no_image = tmp_path / "no_image.onnx"
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["ids"], ["y"])],
        "g",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, ["N", 4])],
    )
    save(helper.make_model(graph), no_image)
    return {
        "missing": ([tmp_path / "nope.onnx"], "no such file"),
        "not onnx": ([text], "not an ONNX model"),
        "bn folded": (
            [save(bn_model(folded=True), tmp_path / "folded.onnx"), "--method", "bn-inversion"],
            "folded into the convolutions",
        ),
        "no 4-d float input": ([no_image], "no 4-D float image input"),
        "several inputs": ([save(bn_model(extra_input=True), tmp_path / "two.onnx")], "--input NAME"),
        "size 0": ([save(bn_model(size="S"), tmp_path / "dyn.onnx"), "--size", "0", "0"], "two positive integers"),
        "n-images 0": ([DIGITS_MODEL, *DIGITS_ARGS, "-n", "0"], "--n-images must be a positive integer"),
        "batch-size 0": ([DIGITS_MODEL, *DIGITS_ARGS, "--batch-size", "0"], "--batch-size must be a positive integer"),
        "output not empty": ([DIGITS_MODEL, *DIGITS_ARGS, "-o", full], "not empty"),
        "bad mean/std": ([DIGITS_MODEL, "--mean", "0.5"], "--mean and --std go together"),
        "wrong channel count": ([DIGITS_MODEL, "--normalization", "imagenet"], "3 values but the model input has 1"),
        "bad config file": ([DIGITS_MODEL, "--config", tmp_path / "missing.yaml"], "does not exist"),
    }


CASES = [
    "missing",
    "not onnx",
    "bn folded",
    "no 4-d float input",
    "several inputs",
    "size 0",
    "n-images 0",
    "batch-size 0",
    "output not empty",
    "bad mean/std",
    "wrong channel count",
    "bad config file",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gives_one_line_error_and_writes_nothing(case, tmp_path, capsys):
    args, message = _bad_inputs(tmp_path)[case]
    out_dir = tmp_path / "out"
    if "-o" not in args:
        args = [*args, "-o", out_dir]
    code, out, err = run(["generate", *args, "--n-iter", "2", "-q"], capsys)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("datagen: error: ") and message in lines[0], err
    assert "Traceback" not in err
    assert not (out_dir / "manifest.json").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown when CUDA is absent")
def test_cuda_without_cuda(tmp_path, capsys):
    code, _, err = run(
        ["generate", DIGITS_MODEL, *DIGITS_ARGS, *QUICK, "--device", "cuda", "-o", tmp_path / "o"], capsys
    )
    assert code == 1 and "--device cuda" in err and "no CUDA device" in err
    assert not (tmp_path / "o" / "manifest.json").exists()


def test_diverging_loss_stops_and_names_the_batch(tmp_path, capsys):
    code, _, err = run(
        [
            "generate",
            DIGITS_MODEL,
            *DIGITS_ARGS,
            *QUICK,
            "--optimizer",
            "sgd",
            "--lr",
            "1e38",
            "--clipping",
            "none",
            "-o",
            tmp_path / "o",
        ],
        capsys,
    )
    assert code == 1 and "the loss became" in err and "batch" in err and "lower --lr" in err
    # The folder keeps the unfinished run (for --resume after changing nothing else); it never looks complete.
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["status"] == "running"
    assert not (tmp_path / "o" / "images.npy").exists()


def test_usage_errors_exit_2(capsys):
    code, _, err = run(["generate", DIGITS_MODEL, "--optimizer", "lbfgs"], capsys)
    assert code == 2 and "lbfgs" in err


def test_debug_shows_traceback(tmp_path, capsys):
    code, _, err = run(["--debug", "generate", tmp_path / "nope.onnx"], capsys)
    assert code == 1 and "Traceback" in err


@pytest.mark.parametrize("command", [[], ["generate"], ["inspect"], ["quantize"], ["evaluate"], ["export"]])
def test_help_shows_an_example(command, capsys):
    code, out, _ = run([*command, "--help"], capsys)
    assert code == 0 and "Example:" in out


def test_quantize_then_evaluate(tmp_path, capsys):
    calib = tmp_path / "calib"
    assert run(["generate", DIGITS_MODEL, *DIGITS_ARGS, *QUICK, "--format", "png", "-o", calib], capsys)[0] == 0
    q = tmp_path / "q.onnx"
    code, out, err = run(["quantize", DIGITS_MODEL, "--calib", calib, "--activation-type", "uint4", "-o", q], capsys)
    assert code == 0, err
    assert "W8A4 minmax; calibrated on datagen dataset" in out and "8 images" in out and "ORT_ENABLE_BASIC" in out
    code, out, err = run(["evaluate", DIGITS_MODEL, "--quantized", q, "--data", DIGITS_TEST, *DIGITS_ARGS,
                          "--range", "0:100", "--json"], capsys)  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["n_images"] == 100 and report["float_top1"] > 95 and 0 < report["top1_agreement"] <= 100
    code, out, _ = run(["evaluate", DIGITS_MODEL, "--data", DIGITS_TEST, *DIGITS_ARGS], capsys)
    assert code == 0 and "float top-1      98.22 %" in out and "agreement" not in out
    code, out, _ = run(["quantize", DIGITS_MODEL, "--calib", "gaussian", "-n", "16", "-o", q, "--overwrite"], capsys)
    assert code == 0 and "gaussian random images (seed 0), 16 images" in out


def test_quantize_and_evaluate_user_errors(tmp_path, capsys):
    existing = tmp_path / "q.onnx"
    existing.write_bytes(b"keep")
    cases = [
        (["quantize", DIGITS_MODEL, "--calib", "gaussian", "-o", existing], "exists; choose another"),
        (["quantize", DIGITS_MODEL, "--calib", tmp_path / "none", "-o", tmp_path / "a.onnx"], "does not exist"),
        (["quantize", DIGITS_MODEL, "--calib", DIGITS_TEST, "-o", tmp_path / "a.onnx"], "3 values but the model"),
        (["quantize", DIGITS_MODEL, "--calib", tmp_path, "-o", tmp_path / "a.onnx"], "no class subfolders"),
        (["evaluate", DIGITS_MODEL, "--data", DIGITS_TEST, "--range", "5"], "--range takes START:END"),
        (["evaluate", DIGITS_MODEL, "--data", tmp_path / "x.npz", *DIGITS_ARGS], "neither an .npz file nor"),
        (["evaluate", DIGITS_MODEL, "--quantized", existing, "--data", DIGITS_TEST, *DIGITS_ARGS], "not an ONNX"),
    ]
    for args, message in cases:
        code, _, err = run(args, capsys)
        lines = err.strip().splitlines()
        assert code == 1 and len(lines) == 1 and message in lines[0], (args, err)
    assert existing.read_bytes() == b"keep" and not (tmp_path / "a.onnx").exists()


@pytest.fixture
def small_dataset(tmp_path, capsys):
    calib = tmp_path / "calib"
    assert run(["generate", DIGITS_MODEL, *DIGITS_ARGS, *QUICK, "--format", "npy", "-o", calib], capsys)[0] == 0
    return calib


def test_export_list_names_every_toolchain_once(capsys):
    from onnx_datagen.exporters import exporters

    code, out, _ = run(["export", "--list"], capsys)
    lines = out.strip().splitlines()
    assert code == 0 and [line.split()[0] for line in lines] == list(exporters())
    assert {"openvino", "onnxruntime", "modelopt", "polygraphy", "qnn", "hailo", "rknn", "quark", "tflite", "mct"} <= {
        line.split()[0] for line in lines
    }


def test_export_prints_usage_and_records_in_the_manifest(small_dataset, tmp_path, capsys):
    code, out, err = run(["export", small_dataset, "--to", "openvino,qnn", "--layout", "nchw"], capsys)
    assert code == 0, err
    assert "nncf.quantize(model, dataset, subset_size=len(samples))" in out and "qairt-converter" in out
    assert f"wrote qnn: 11 files in {small_dataset}/qnn/" in out  # 8 raw + input_list + USAGE.md + export.json
    manifest = json.loads((small_dataset / "manifest.json").read_text())
    assert manifest["formats"]["qnn"]["layout"] == "NCHW" and len(manifest["files"]["openvino"]) == 10
    # Again: refused without --overwrite; with it, the old files go and the new layout replaces them.
    code, _, err = run(["export", small_dataset, "--to", "qnn"], capsys)
    assert code == 1 and "already holds a qnn export; pass --overwrite" in err
    code, _, err = run(["export", small_dataset, "--to", "qnn", "--overwrite", "-q"], capsys)
    assert code == 0, err
    assert json.loads((small_dataset / "qnn" / "export.json").read_text())["layout"] == "NHWC"
    # Elsewhere with -o: a self-describing folder, the dataset's manifest untouched.
    before = (small_dataset / "manifest.json").read_text()
    code, _, err = run(["export", small_dataset, "--to", "hailo", "-o", tmp_path / "ship", "-q"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "ship" / "hailo").iterdir()) == [
        "USAGE.md", "calib_nhwc.npy", "export.json", "normalization.alls",
    ]  # fmt: skip
    assert (small_dataset / "manifest.json").read_text() == before


def test_generate_writes_toolchain_formats_and_prints_their_usage(tmp_path, capsys):
    calib = tmp_path / "calib"
    args = ["generate", DIGITS_MODEL, *DIGITS_ARGS, "--n-iter", "2", "-n", "4", "--batch-size", "4"]
    code, out, err = run([*args, "--format", "npy,rknn", "-o", calib], capsys)
    assert code == 0, err
    assert "rknn.build(do_quantization=True" in out and "mean_values=[[76.5]], std_values=[[81.6]]" in out
    assert len((calib / "rknn" / "dataset.txt").read_text().splitlines()) == 4


@pytest.mark.parametrize(
    "case, message",
    [
        ("unknown", "unknown format 'tensorrt'; choose from hailo, mct, modelopt, npy, onnxruntime, openvino"),
        ("no manifest", "holds no manifest.json, so it is not a complete datagen dataset"),
        ("layout on a fixed-layout toolchain", "--layout applies only to qnn, not to onnxruntime: drop it"),
        ("bad layout", "--layout for qnn must be one of nhwc, nchw, got 'chwn'"),
        ("foreign files", "holds no datagen export.json; refusing to write over files"),
        ("no toolchain", "give a dataset folder and --to NAME"),
    ],
)
def test_export_user_errors(case, message, small_dataset, tmp_path, capsys):
    foreign = tmp_path / "foreign"
    (foreign / "qnn").mkdir(parents=True)
    (foreign / "qnn" / "mine.txt").write_text("x")
    args = {
        "unknown": [small_dataset, "--to", "tensorrt"],
        "no manifest": [foreign, "--to", "qnn"],
        "layout on a fixed-layout toolchain": [small_dataset, "--to", "onnxruntime", "--layout", "nhwc"],
        "bad layout": [small_dataset, "--to", "qnn", "--layout", "chwn"],
        "foreign files": [small_dataset, "--to", "qnn", "-o", foreign, "--overwrite"],
        "no toolchain": [small_dataset],
    }[case]
    code, _, err = run(["export", *args], capsys)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and message in lines[0], err
    assert (foreign / "qnn" / "mine.txt").is_file() and not (small_dataset / "onnxruntime").exists()


def test_pixel_formats_refuse_models_with_other_channel_counts(tmp_path, capsys):
    model = save(bn_model(channels=4), tmp_path / "rgba.onnx")
    args = ["generate", model, "--mean", "0", "--std", "1", *QUICK, "--format", "npy,hailo", "-o", tmp_path / "o"]
    code, _, err = run(args, capsys)
    assert code == 1 and "format hailo writes 1- or 3-channel 8-bit images but the model input has 4" in err


def test_waiting_openmp_threads_spin_briefly_unless_the_caller_chose():
    """The setting reaches a fresh process's OpenMP only if it is in place before torch loads: a `datagen` process
    sets it first, and leaves a caller's own choice (a wait policy or a spin count) alone."""
    import os
    import subprocess
    import sys

    script = (
        "import os, onnx_datagen.cli.main as m; m.main(['--version']); import torch; "
        "print(os.environ.get('GOMP_SPINCOUNT'), torch.get_num_threads() > 0)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    for given, expected in (({}, "3000"), ({"OMP_WAIT_POLICY": "ACTIVE"}, "None"), ({"GOMP_SPINCOUNT": "50"}, "50")):
        done = subprocess.run([sys.executable, "-c", script], env={**env, **given}, capture_output=True, text=True,
                              check=True)  # fmt: skip
        assert done.stdout.split()[-2:] == [expected, "True"]
