"""The optimisation watches its own loss: a group whose loss runs away on the way (three iterations in a row 1.5x where
the phase started) goes back to its best parameters and is watched from there; one that ends above its starting BN
loss is optimised again, watched. Watched, three steps in a row 10 % above where the phase started take a batch back
to its best parameters with a fresh optimiser and half the step size; the manifest and the summary say what
happened."""

import re

import numpy as np
import pytest
import torch
from onnx_datagen.cli.main import main

import onnx_datagen
import onnx_datagen.engines.base as engine_base
from onnx_datagen import GenerationConfig, Normalization
from onnx_datagen.engines.base import LossWatch, OptimisedBatch
from tests.conftest import DIGITS_ARGS, DIGITS_MODEL

DIGITS = Normalization((0.3,), (0.32,))


def test_three_steps_in_a_row_above_the_start_go_back_to_the_best_parameters():
    params = torch.zeros(2, 3, requires_grad=True)
    batch = OptimisedBatch(0, 2, params, np.random.default_rng(0), optimizer=torch.optim.RAdam([params], lr=1.0))
    watch = LossWatch()
    assert not watch.went_backwards(1.0)  # the phase's first loss: the start
    watch.remember(0.8, batch)  # the best: zeros
    params.sum().backward()
    batch.optimizer.step()
    assert params.abs().sum() > 0 and batch.optimizer.state
    assert not watch.went_backwards(1.05)  # within 10 % of the start: a flat start's noise
    assert not watch.went_backwards(2.0)  # one step above: maybe an unlucky view
    assert not watch.went_backwards(2.0)  # two: maybe the hump of Adam's first steps
    assert watch.went_backwards(2.0)  # the third in a row
    watch.backtrack(batch)
    assert torch.equal(params.detach(), torch.zeros(2, 3)) and params.grad is None
    assert not batch.optimizer.state and watch.lr_scale == 0.5 and watch.backtracks == 1
    assert not watch.went_backwards(2.0)  # the strikes start over


def test_a_group_whose_loss_runs_away_goes_back_to_its_best_and_is_watched_from_there(caplog):
    config = GenerationConfig(lr=3000, n_iter=30, normalization=DIGITS)  # a step size far too large
    steps = []
    result = onnx_datagen.generate(str(DIGITS_MODEL), 16, config, progress=steps.append)
    statistics = result.manifest["statistics"]
    (ran_away,) = re.findall(r"went back to its best images of the phase at iteration (\d+) of 30", caplog.text)
    assert 3 <= int(ran_away) < 30 and "optimising it again" not in caplog.text
    # the attempt goes on: 30 iterations of one step per batch, none optimised again
    assert len(steps) == 30 * len({s.batch for s in steps})
    # every batch went back once when the group ran away, and the watch took more back after that
    assert statistics["steps_taken_back"] > len({s.batch for s in steps})
    assert statistics["groups_optimised_again"] == 0
    assert statistics["bn_loss_final"] < 0.3 * statistics["bn_loss_initial"] and not statistics["went_backwards"]


def test_a_group_that_went_backwards_is_optimised_again_and_ends_below_its_start(monkeypatch, caplog):
    monkeypatch.setattr(engine_base, "RUNAWAY", float("inf"))  # the first attempt runs to its end, unwatched
    config = GenerationConfig(lr=3000, n_iter=30, normalization=DIGITS)  # a step size far too large
    watched = onnx_datagen.generate(str(DIGITS_MODEL), 16, config).manifest["statistics"]
    # the first attempt, unwatched, went backwards (measured: 0.642 -> 0.954); watched: 0.642 -> 0.132
    ((start, end),) = [
        (float(a), float(b)) for a, b in re.findall(r"\((\S+) -> (\S+)\); optimising it again", caplog.text)
    ]
    assert end > start and "optimising it again, watched" in caplog.text
    assert "with steady full-resolution views" not in caplog.text  # the watched attempt ended below its start
    assert watched["steps_taken_back"] >= 1 and watched["groups_optimised_again"] == 1
    assert watched["bn_loss_final"] < 0.3 * watched["bn_loss_initial"] and not watched["went_backwards"]


def test_a_group_still_above_its_start_when_watched_is_optimised_with_steady_views_and_keeps_its_lowest(
    monkeypatch, caplog
):
    monkeypatch.setattr(engine_base, "STRIKES", 10**9)  # the watch takes nothing back: the watched run fails too
    config = GenerationConfig(lr=3000, n_iter=30, normalization=DIGITS)
    statistics = onnx_datagen.generate(str(DIGITS_MODEL), 16, config).manifest["statistics"]
    ends = [float(m) for m in re.findall(r"\(\S+ -> (\S+)\); optimising it again", caplog.text)]
    assert len(ends) == 2 and "optimising it again, watched, with steady full-resolution views" in caplog.text
    # the images kept are the lowest of the three attempts', so never above what the first attempt left
    assert statistics["bn_loss_final"] <= min(ends) * (1 + 1e-3)
    assert statistics["groups_optimised_again"] == 1


def test_steady_views_are_the_final_view():
    from onnx_datagen.images.pipeline import CanvasPipeline

    for pipeline in ("jitter-and-flip", "smoothing-and-augmentation"):
        config = GenerationConfig(pipeline=pipeline, low_res_fraction=0.0, normalization=DIGITS).resolve(16, 16)
        moving = CanvasPipeline(config, 16, 16, np.array([-1.0]), np.array([2.0]), "cpu")
        canvas = torch.randn(2, 1, *moving.canvas_size, generator=torch.Generator().manual_seed(0))
        final, steady = moving.final_view(canvas), moving.steady()
        assert all(torch.equal(steady.training_view(canvas, np.random.default_rng(s)), final) for s in range(4))
        assert any(not torch.equal(moving.training_view(canvas, np.random.default_rng(s)), final) for s in range(4))


def test_a_group_that_improves_is_optimised_once_and_unwatched(caplog):
    config = GenerationConfig(n_iter=30, normalization=DIGITS)
    statistics = onnx_datagen.generate(str(DIGITS_MODEL), 16, config).manifest["statistics"]
    assert statistics["steps_taken_back"] == 0 and not statistics["went_backwards"]
    assert statistics["groups_optimised_again"] == 0
    assert "optimising it again" not in caplog.text


@pytest.mark.slow
def test_a_run_that_ends_above_its_start_says_so(tmp_path, capsys):
    # Class targets at a hundred times the BN term's weight pull the statistics away on purpose.
    args = ["generate", str(DIGITS_MODEL), *DIGITS_ARGS, "-n", "16", "--n-iter", "30", "--labels", "3",
            "--ce-weight", "100", "--format", "npy", "-o", str(tmp_path / "out")]  # fmt: skip
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "ABOVE its start: the optimisation went backwards" in out
    assert "1 of its groups optimised again" in out  # watched, then with steady views: the lowest is kept
    assert "the optimisation went backwards); try a lower --lr" in out + err  # the note, with what to try
    manifest = onnx_datagen.Dataset.load(tmp_path / "out").manifest["statistics"]
    assert manifest["went_backwards"] and manifest["bn_loss_final"] > manifest["bn_loss_initial"]
