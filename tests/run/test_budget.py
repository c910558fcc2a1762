"""--time-budget and the printed estimate: the step time is measured without touching the images, the iterations
that fit become part of the job, each group's optimisation stops at its share of the budget, and a resumed run keeps
the iterations."""

from __future__ import annotations

import itertools
import json
import re
import time

import numpy as np
import pytest
from onnx_datagen.cli.main import main

import onnx_datagen
from onnx_datagen import GenerationConfig, Normalization
from onnx_datagen.config.parsing import parse_duration
from onnx_datagen.engines.base import Deadline, Group, StepTimes
from onnx_datagen.errors import ConfigError
from onnx_datagen.methods.registry import load_for_method
from onnx_datagen.run.budget import FINISH_SECONDS, SCORING_STEPS_PER_BATCH, Pacing, RunEstimate, fit_iterations
from onnx_datagen.run.groups import GroupRunner
from onnx_datagen.run.jobs import GenerationJob, run_job
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


def test_measuring_the_step_time_changes_no_image():
    budgeted = GenerationConfig(normalization=DIGITS, batch_size=16, n_iter=5, time_budget="10m")  # not binding
    dataset = onnx_datagen.generate(str(DIGITS_MODEL), 16, budgeted)
    config, timing = dataset.manifest["config"], dataset.manifest["timing"]
    assert config["n_iter"] == 5 and timing["budget_seconds"] == 600 and "iterations_done" not in timing
    # the same iterations without a budget: the same bytes, so the probe drew from no image's random stream
    again = onnx_datagen.generate(str(DIGITS_MODEL), 16, budgeted.replace(time_budget=None))
    np.testing.assert_array_equal(dataset.images, again.images)


def test_the_estimate_counts_set_up_batch_starts_steps_and_scoring_and_the_budget_fits_all_of_it():
    config = GenerationConfig(n_iter=30, batch_size=8, low_res_fraction=0.5).resolve(224, 224)
    times = StepTimes({2: 0.1, 1: 0.3}, batch_start=0.2)  # a half-resolution step, a full one; a start
    # set-up so far; 8 batches' starts and scoring; writing the set and the process's exit
    once = 10.0 + 8 * (0.2 + SCORING_STEPS_PER_BATCH * 0.3) + FINISH_SECONDS
    iteration = 8 * (0.5 * 0.1 + 0.5 * 0.3)
    kept, estimate = fit_iterations(times, config, 64, batches=8, elapsed=10.0)
    assert kept.n_iter == 30 and estimate.seconds == pytest.approx(once + 30 * iteration)
    assert "for 64 images, 10 s of set-up included (30 iterations" in estimate.text()
    budgeted, estimate = fit_iterations(times, config.replace(time_budget="40s"), 64, batches=8, elapsed=10.0)
    assert (40 - once) / iteration == pytest.approx(15.625)  # whole iterations would leave 5/8 of one unspent
    assert budgeted.n_iter == 16 and estimate.seconds == pytest.approx(40)  # the 16th is cut short (Pacing)
    assert estimate.record()["setup_seconds"] == 10.0


def test_pacing_gives_each_group_its_share_of_the_time_left_less_its_scoring():
    now = [30.0]
    estimate = RunEstimate(80, 17, 8, step_seconds=0.3, setup_seconds=10.0, seconds=100.0, budget_seconds=100.0)
    pacing = Pacing.of(estimate, StepTimes({1: 0.3}, 0.2), batches=10, asked=30, clock=lambda: now[0])
    assert pacing.ends_at == 120.0 - FINISH_SECONDS  # the run started 10 s of set-up ago, and must still finish
    first = pacing.deadline(Group(0, 0, 32))  # 4 of the 10 batches
    assert first.at == pytest.approx(30 + (pacing.ends_at - 30) * 4 / 10 - 4 * SCORING_STEPS_PER_BATCH * 0.3)
    now[0] = 80.0  # the first group ran late: the last gets what is left
    last = pacing.deadline(Group(1, 32, 48))
    assert last.at == pytest.approx(pacing.ends_at - 6 * SCORING_STEPS_PER_BATCH * 0.3) and not last.passed()
    assert last.extra_iterations == 30 - 17  # with time to spare, the iterations asked for that the plan cut
    now[0] = 200.0
    assert last.passed()


def test_a_deadline_ends_the_optimisation_mid_iteration_or_after_more_iterations_and_the_result_counts_them():
    config = GenerationConfig(normalization=DIGITS, batch_size=8, n_iter=10)
    _, source, resolved = load_for_method(str(DIGITS_MODEL), config, None, None)
    maker = GroupRunner(source, resolved).maker
    ticks = itertools.count()  # a clock that moves one second each time it is read: the loop reads it before a step
    result = maker.make(Group(0, 0, 16), None, Deadline(5, lambda: next(ticks), extra_iterations=4))
    assert result.iterations == 2.5  # 5 steps of the group's 2 batches, then the deadline
    assert np.isfinite(result.images).all() and result.final is not None
    assert maker.make(Group(0, 0, 16), None).iterations == 10  # no deadline: the planned iterations
    ticks = itertools.count()
    spare = Deadline(24, lambda: next(ticks), extra_iterations=4)  # time for 24 steps: 10 + 2 iterations
    assert maker.make(Group(0, 0, 16), None, spare).iterations == 12
    never = Deadline(float("inf"), extra_iterations=4)
    assert maker.make(Group(0, 0, 16), None, never).iterations == 14  # at most the extra iterations


def test_a_budget_counts_from_when_the_caller_started():
    config = GenerationConfig(normalization=DIGITS, n_iter=5, time_budget="1m")
    job = GenerationJob(DIGITS_MODEL, "unused", 16, config)
    with pytest.raises(ConfigError, match="leaves no time for one iteration of 16 images") as refused:
        run_job(job, started=time.perf_counter() - 59.9)  # the caller's own set-up spent the minute
    assert int(re.search(r"set-up took (\d+) s", str(refused.value))[1]) >= 60


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


def test_a_budget_ends_the_run_at_its_deadline_and_resume_keeps_the_iterations_it_chose(tmp_path, capsys):
    out = tmp_path / "o"
    args = ["generate", str(DIGITS_MODEL), *DIGITS_ARGS, "-n", "16", "--n-iter", "100000", "--time-budget", "20s",
            "--format", "npy", "-o", str(out)]  # fmt: skip
    assert main(args) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    chosen = manifest["config"]["n_iter"]
    done = manifest["timing"].get("iterations_done", chosen)  # absent only where the deadline fell on the plan's end
    assert chosen < 100_000 and 0 < done < 100_000 and manifest["timing"]["estimated_seconds"] == pytest.approx(20)
    if done != chosen:
        assert not manifest["determinism"]["byte_identical"]  # where the deadline fell depends on the machine's speed
        said = f"the time budget ended the optimisation at {done:g} iterations per image ({chosen} planned)"
        assert said in capsys.readouterr().out
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
