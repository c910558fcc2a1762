import math

import pytest
import torch

from onnx_datagen.config.choices import Scheduler
from onnx_datagen.config.generation import GenerationConfig
from onnx_datagen.engines.schedules import ReduceOnPlateau, make_schedule

LOSSES = [10, 9, 9, 9, 9, 9, 8, 8, 8, 8, 8, 8, 8]


def test_reduce_on_plateau_matches_torch():
    ours = ReduceOnPlateau(1.0, factor=0.5, patience=2, min_lr=0.01, reset=False)
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=1.0)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2, min_lr=0.01)
    for loss in LOSSES:
        theirs.step(loss)
        assert ours.step(loss) == pytest.approx(optimizer.param_groups[0]["lr"])


def test_reset_forgets_the_best_loss_after_a_cut():
    plain = ReduceOnPlateau(1.0, 0.5, patience=1, min_lr=1e-4, reset=False)
    reset = ReduceOnPlateau(1.0, 0.5, patience=1, min_lr=1e-4, reset=True)
    # 5 is best; after the cut at step 3, loss 6 is "new" for the reset variant but worse than 5 for plain.
    trace_plain = [plain.step(v) for v in (5, 6, 6, 6, 6)]
    trace_reset = [reset.step(v) for v in (5, 6, 6, 6, 6)]
    assert trace_plain == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert trace_reset == [1.0, 1.0, 0.5, 0.5, 0.5]


def test_min_lr_floor():
    schedule = ReduceOnPlateau(1.0, 0.1, patience=0, min_lr=0.05, reset=False)
    assert [schedule.step(1.0) for _ in range(3)] == [1.0, 0.1, 0.05]


def test_step_and_cosine():
    step = make_schedule(GenerationConfig(scheduler=Scheduler.STEP, n_iter=9, lr=1.0))
    assert [round(step.step(0), 6) for _ in range(7)] == [1, 1, 0.1, 0.1, 0.1, 0.01, 0.01]
    cosine = make_schedule(GenerationConfig(scheduler=Scheduler.COSINE, n_iter=4, lr=1.0, min_lr=0.0001))
    values = [cosine.step(0) for _ in range(4)]
    assert values[1] == pytest.approx(0.0001 + (1 - 0.0001) * 0.5 * (1 + math.cos(math.pi / 2)))
    assert values[-1] == pytest.approx(0.0001)


@pytest.mark.parametrize("kind", list(Scheduler))
def test_every_scheduler_builds_and_never_increases_on_a_flat_loss(kind):
    schedule = make_schedule(GenerationConfig(scheduler=kind, n_iter=20))
    values = [schedule.step(1.0) for _ in range(20)]
    assert all(b <= a + 1e-12 for a, b in zip(values, values[1:]))


def test_phases_split_n_iter_and_restart_the_schedule():
    from onnx_datagen.engines.base import Phase, phases

    config = GenerationConfig(n_iter=3000, low_res_fraction=0.6667, pipeline="jitter-and-flip")
    assert phases(config, coarsest_pool=2) == [Phase(2000, pool=2), Phase(1000, pool=1)]  # DeepInversion
    assert phases(config, coarsest_pool=1) == [Phase(3000)]  # the model runs at its own size only
    assert phases(config.replace(low_res_fraction=0.0), 2) == [Phase(3000)]
    # coarse to fine, 56 -> 112 -> 224: the low-resolution share split evenly, the coarser phase taking the odd one
    half = GenerationConfig(n_iter=30, low_res_fraction=0.5, low_res_levels=2, pipeline="jitter-and-flip")
    assert phases(half, 4) == [Phase(8, pool=4), Phase(7, pool=2), Phase(15)]
    assert phases(half.replace(low_res_fraction=0.04), 4) == [Phase(1, pool=4), Phase(29)]  # no empty phase
    cosine = make_schedule(GenerationConfig(scheduler=Scheduler.COSINE, n_iter=40, lr=1.0, min_lr=1e-4), 4)
    assert [round(cosine.step(0.0), 6) for _ in range(4)] == [0.853568, 0.50005, 0.146532, 0.0001]  # over 4, not 40
