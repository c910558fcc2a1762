"""--time-budget and the printed estimate: the step time is measured without touching the images, the iterations
that fit become part of the job, and a resumed run keeps them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from onnx_datagen.cli.main import main

import onnx_datagen
from onnx_datagen import GenerationConfig, Normalization
from onnx_datagen.config.parsing import parse_duration
from onnx_datagen.engines.base import StepTimes
from onnx_datagen.errors import ConfigError
from onnx_datagen.run.budget import SCORING_STEPS_PER_BATCH, fit_iterations
from tests.conftest import DIGITS_ARGS, DIGITS_MODEL

DIGITS = Normalization((0.3,), (0.32,), 1.0, "digits")


@pytest.mark.parametrize(
    "text, seconds", [("10m", 600), ("10 min", 600), ("90s", 90), ("90", 90), ("1h30m", 5400), ("2.5m", 150)]
)
def test_durations_read_as_people_write_them(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "0", "10x", "m", "-5m"])
def test_a_duration_that_is_not_one_is_refused_by_name(text):
    with pytest.raises(ConfigError, match="--time-budget takes a duration"):
        GenerationConfig(time_budget=text)


def test_a_budget_chooses_the_iterations_and_measuring_changes_no_image():
    budgeted = GenerationConfig(normalization=DIGITS, batch_size=16, n_iter=100_000, time_budget="20s")
    dataset = onnx_datagen.generate(str(DIGITS_MODEL), 16, budgeted)
    config, timing = dataset.manifest["config"], dataset.manifest["timing"]
    assert 1 <= config["n_iter"] < 100_000 and config["time_budget"] == "20s"
    assert timing["budget_seconds"] == 20 and 0 < timing["estimated_seconds"] <= 20
    # the same iterations without a budget: the same bytes, so the probe drew from no image's random stream
    fixed = budgeted.replace(time_budget=None, n_iter=config["n_iter"])
    again = onnx_datagen.generate(str(DIGITS_MODEL), 16, fixed)
    np.testing.assert_array_equal(dataset.images, again.images)


def test_the_estimate_counts_set_up_batch_starts_steps_and_scoring_and_the_budget_fits_all_of_it():
    config = GenerationConfig(n_iter=30, batch_size=8, low_res_fraction=0.5).resolve(224, 224)
    times = StepTimes({True: 0.1, False: 0.3}, batch_start=0.2)  # a half-resolution step, a full one; a start
    once = 10.0 + 8 * (0.2 + SCORING_STEPS_PER_BATCH * 0.3)  # set-up so far; 8 batches' starts and scoring
    iteration = 8 * (0.5 * 0.1 + 0.5 * 0.3)
    kept, estimate = fit_iterations(times, config, 64, batches=8, elapsed=10.0)
    assert kept.n_iter == 30 and estimate.seconds == pytest.approx(once + 30 * iteration)
    assert "for 64 images, 10 s of set-up included (30 iterations" in estimate.text()
    budgeted, estimate = fit_iterations(times, config.replace(time_budget="40s"), 64, batches=8, elapsed=10.0)
    assert estimate.seconds <= 40 < estimate.seconds + iteration  # the most iterations that fit, set-up included
    assert budgeted.n_iter == 16 and estimate.record()["setup_seconds"] == 10.0


def test_a_budget_too_small_for_one_iteration_is_refused_with_the_numbers():
    config = GenerationConfig(normalization=DIGITS, time_budget="0.001s")
    with pytest.raises(ConfigError, match="leaves no time for one iteration of 64 images"):
        onnx_datagen.generate(str(DIGITS_MODEL), 64, config)


def test_generate_prints_its_estimate_before_it_starts_and_not_when_quiet(tmp_path, capsys):
    args = ["generate", str(DIGITS_MODEL), *DIGITS_ARGS, "-n", "16", "--n-iter", "5", "--format", "npy"]
    assert main([*args, "-o", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith("about ") and "for 16 images, " in first and "of set-up included (5 iterations" in first
    assert main([*args, "-o", str(tmp_path / "b"), "-q"]) == 0
    assert "about " not in capsys.readouterr().err


def test_resume_keeps_the_iterations_the_budget_chose(tmp_path, capsys):
    out = tmp_path / "o"
    args = ["generate", str(DIGITS_MODEL), *DIGITS_ARGS, "-n", "16", "--n-iter", "100000", "--time-budget", "20s",
            "--format", "npy", "-q", "-o", str(out)]  # fmt: skip
    assert main(args) == 0
    chosen = json.loads((out / "manifest.json").read_text())["config"]["n_iter"]
    # a fresh measurement would choose other iterations, and so another job; --resume continues this one
    assert main([*args, "--resume"]) == 0, capsys.readouterr().err
    assert json.loads((out / "manifest.json").read_text())["config"]["n_iter"] == chosen


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--shard", "1/2"], "shards run elsewhere; give --n-iter"),
        (["--method", "fractal"], "fractal images are rendered, not optimised"),
        (["--method", "generator", "--granularity", "per-batch"], "trains once for all images"),
    ],
)
def test_a_budget_is_refused_where_it_cannot_be_measured(tmp_path, capsys, extra, message):
    args = ["generate", str(DIGITS_MODEL), *DIGITS_ARGS, "-n", "32", "--time-budget", "1m", "-q"]
    assert main([*args, *extra, "-o", str(tmp_path / "o")]) == 1
    assert message in capsys.readouterr().err
