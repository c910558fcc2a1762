"""IFS fractal images (--preset fractal): deterministic, diverse, in range, and usable on BN-folded models."""

import json

import numpy as np
import pytest

import onnx_datagen
from onnx_datagen import GenerationConfig
from onnx_datagen.config.presets import describe_presets
from onnx_datagen.images.fractal import fractal_pixels
from tests.cli.test_cli import run
from tests.conftest import DIGITS_ARGS, DIGITS_MODEL, bn_model, save


def test_each_image_depends_only_on_seed_and_index():
    whole = fractal_pixels(12, 32, 32, 3, seed=4)
    np.testing.assert_array_equal(fractal_pixels(5, 32, 32, 3, seed=4, start=7), whole[7:])
    assert not np.array_equal(fractal_pixels(12, 32, 32, 3, seed=5), whole)


@pytest.mark.parametrize("channels, size", [(3, 32), (1, 16)])
def test_images_are_diverse_and_not_flat(channels, size):
    # Measured over seeds 0-2 (64 images): spread of per-image means 23-31, per-image std median
    # 50-53 (RGB) / 22-24 (gray), minimum 20 / 2.3; every image distinct. Floors sit below.
    pixels = fractal_pixels(64, size, size, channels, seed=0).astype(np.float64).reshape(64, -1)
    assert len({row.tobytes() for row in pixels}) == 64
    assert pixels.mean(1).std() > 15
    assert np.median(pixels.std(1)) > (35 if channels == 3 else 15)
    assert pixels.std(1).min() > 1
    assert pixels.min() >= 0 and pixels.max() <= 255


def test_fractal_dataset_is_exact_8bit_model_input_on_a_folded_model(tmp_path):
    folded = save(bn_model(folded=True), tmp_path / "folded.onnx")
    dataset = onnx_datagen.generate(str(folded), 10, GenerationConfig(method="fractal", seed=3))
    assert dataset.images.shape == (10, 3, 8, 8) and dataset.manifest["method"] == "fractal"
    assert dataset.manifest["statistics"] is None and dataset.manifest["model"]["input"] == "x"
    # Rendered as 8-bit pixels and normalised: a PNG export loses nothing.
    eight = dataset.eight_bit
    assert eight.clipped_fraction == 0.0 and eight.round_trip_max_abs < 1e-5
    pixels = np.concatenate(list(dataset.pixel_chunks()))
    np.testing.assert_array_equal(pixels, fractal_pixels(10, 8, 8, 3, seed=3))


def test_cli_fractal_on_folded_model_and_the_errors_that_point_to_it(tmp_path, capsys):
    folded = save(bn_model(folded=True), tmp_path / "folded.onnx")
    code, out, err = run(["generate", folded, "--preset", "fractal", "-n", "6", "-o", tmp_path / "calib"], capsys)
    assert code == 0, err
    assert "wrote 6 fractal images (3x8x8)" in out and "BN loss" not in out
    manifest = json.loads((tmp_path / "calib" / "manifest.json").read_text())
    assert manifest["config"]["method"] == "fractal" and len(manifest["files"]["png"]) == 6
    for option in ("--per-image-share", "--low-res-fraction"):  # options of optimised images are refused by name
        code, _, err = run(["generate", folded, "--preset", "fractal", option, "0.25", "-o", tmp_path / "s"], capsys)
        assert code == 1 and f"{option} applies to optimised images" in err and len(err.splitlines()) == 1
        assert not (tmp_path / "s").exists()
    code, _, err = run(["generate", folded, "--method", "bn-inversion", "-o", tmp_path / "bn"], capsys)
    assert code == 1 and "folded into the convolutions" in err and "--preset fractal" in err
    code, out, _ = run(["inspect", folded], capsys)
    assert "verdict   bn-folded" in out and "dynamo=False" in out and "--preset fractal" in out
    code, out, _ = run(["generate", "--list-presets"], capsys)
    assert code == 0 and [line.split()[0] for line in out.strip().splitlines()] == list(describe_presets())
    code, _, err = run(["generate", DIGITS_MODEL, *DIGITS_ARGS, "--preset", "nope", "-o", tmp_path / "x"], capsys)
    assert code == 1 and f"unknown preset 'nope'; choose one of {', '.join(sorted(describe_presets()))}" in err
    assert "deepinversion, dgh, dsg, fractal, generator, genie, mct, prior, zeroq" in err


def test_options_over_a_preset_are_applied_with_a_note(tmp_path, capsys):
    args = ["generate", DIGITS_MODEL, *DIGITS_ARGS, "--preset", "prior", "--lr", "0.1", "--n-iter", "2", "-n", "4"]
    code, _, err = run([*args, "-q", "-o", tmp_path / "o"], capsys)
    assert code == 0, err
    notes = ["note: --lr 0.1 replaces preset prior's 0.05", "note: --n-iter 2 replaces preset prior's 100"]
    assert err.splitlines() == notes
    config = json.loads((tmp_path / "o" / "manifest.json").read_text())["config"]
    assert config["lr"] == 0.1 and config["optimizer"] == "adam"  # the rest of the preset stays
