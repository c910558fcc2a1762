"""Models that are not classifiers (detection, segmentation: several outputs, no [N, classes] head) generate,
quantize and evaluate like classifiers, scored per output against the float model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from onnx_datagen.images.fractal import fractal_pixels
from tests.cli.test_cli import run
from tests.export_zoo import EXPORTS, SIZE, build, export

LEGACY_KEPT = next(e for e in EXPORTS if not e.dynamo and e.opset == 17 and e.bn_kept)


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    return export(build("two-head-detector"), LEGACY_KEPT, tmp_path_factory.mktemp("det") / "detector.onnx")


def test_detector_generates_quantizes_and_is_scored_per_output(detector, tmp_path, capsys):
    calib, quantized, held_out = tmp_path / "calib", tmp_path / "q.onnx", tmp_path / "held_out.npz"
    code, _, err = run(
        ["generate", detector, "-n", "16", "--batch-size", "8", "--n-iter", "20", "-q", "-o", calib], capsys
    )
    assert code == 0, err
    manifest = json.loads((calib / "manifest.json").read_text())
    assert manifest["statistics"]["bn_loss_final"] < manifest["statistics"]["bn_loss_initial"]
    # No class scores: the output term (default negative-min-max) is off, said once and recorded.
    assert "not class scores [N, K]; --output-loss negative-min-max is off" in err
    assert manifest["config"]["output_loss"] == "none"
    code, _, err = run(["quantize", detector, "--calib", calib, "-o", quantized], capsys)
    assert code == 0, err
    # Unlabelled held-out images: agreement-free scores need no labels.
    np.savez(held_out, images=fractal_pixels(24, SIZE, SIZE, 3, seed=5))
    code, out, err = run(["evaluate", detector, "--quantized", quantized, "--data", held_out, "--json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["float_top1"] is None and report["top1_agreement"] is None  # no class scores to compare
    assert [o["name"] for o in report["outputs"]] == ["out0", "out1"]
    for output in report["outputs"]:  # W8A8 of a 2-conv trunk: measured 39 and 54 dB, cosine 0.9999 and 1.0
        assert output["sqnr_db"] > 20 and output["cosine"] > 0.99, output
    code, out, _ = run(["evaluate", detector, "--quantized", quantized, "--data", held_out], capsys)
    assert code == 0 and "output out0" in out and "cosine" in out and "top-1" not in out


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--labels", "balanced"], "class targets (--labels, --ce-weight) need a first output of shape [N, classes]"),
        (["--preset", "generator"], "need a first output of shape [N, classes]"),
    ],
)
def test_what_needs_class_scores_says_so_in_one_line(detector, tmp_path, capsys, options, message):
    code, _, err = run(["generate", detector, *options, "-n", "4", "-o", tmp_path / "o"], capsys)
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o" / "manifest.json").exists()
