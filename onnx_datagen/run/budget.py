"""How long a run will take, measured before it starts, and the iterations that fit a wall-clock budget.

The step time is measured on a throwaway batch (Engine.step_seconds), so measuring changes no image. With
--time-budget the iterations become a number like any other: it goes into the job record, so a resumed run
continues the same job and the manifest says what the budget bought. Whole iterations of a large group are coarse
(one of 256 MobileNetV2 images takes about 8 s) and a run's steps are not always as fast as the probe's (the digits
CNN's: 14 % faster, or 20 % slower), so the iterations that fit are rounded up and each group's optimisation ends at
its share of the time left, mid-iteration or, with time to spare, after more iterations than planned (Pacing).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from onnx_datagen.config.generation import ResolvedConfig
from onnx_datagen.config.parsing import parse_duration
from onnx_datagen.engines.base import Deadline, Group, StepTimes
from onnx_datagen.errors import ConfigError

# Scoring a finished group (BN sums of the initial and final images, diversity: three forward passes without
# gradients) costs about one optimiser step per batch.
SCORING_STEPS_PER_BATCH = 1.0
# After the last group: the set stacked and written, and the process's exit (the interpreter's exit with torch loaded
# took 0.9 s after a digits CNN run; a 20 s budget ended at 21.1 s of process wall without this reserve).
FINISH_SECONDS = 1.0


@dataclass(frozen=True)
class RunEstimate:
    n_images: int
    n_iter: int
    batch_size: int
    step_seconds: float  # one optimiser step of one full-resolution batch, measured
    setup_seconds: float  # spent before the estimate: model conversion, preparation, the measurement itself
    seconds: float  # the whole run from its start: set-up, batch starts, optimisation and scoring
    budget_seconds: float | None = None

    def text(self) -> str:
        budget = f" of a {spoken(self.budget_seconds)} budget" if self.budget_seconds else ""
        return (
            f"about {spoken(self.seconds)}{budget} for {self.n_images} images, {spoken(self.setup_seconds)} of "
            f"set-up included ({self.n_iter} iterations; one step of {self.batch_size} images takes "
            f"{self.step_seconds:.2g} s here)"
        )

    def record(self) -> dict:
        out = {"estimated_seconds": round(self.seconds, 1), "step_seconds": round(self.step_seconds, 4),
               "setup_seconds": round(self.setup_seconds, 1)}  # fmt: skip
        if self.budget_seconds:
            out["budget_seconds"] = self.budget_seconds
        return out


def spoken(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def fit_iterations(
    times: StepTimes,
    config: ResolvedConfig,
    n_images: int,
    batches: int,
    elapsed: float,
    n_iter: int | None = None,
) -> tuple[ResolvedConfig, RunEstimate]:
    """The config with n_iter fitted to config.time_budget, and the run's estimate from its start to its end (the
    process's exit included).

    `times`: what a batch's step and start cost (Engine.step_seconds); `batches`: the run's batches; `elapsed`: the
    set-up so far, spent from the budget; `n_iter`: the iterations an earlier run of this job chose (resume)."""
    steps = times.step
    pooled = [seconds for pool, seconds in steps.items() if pool > 1]  # the low-resolution phases share alike
    low = config.low_res_fraction if pooled else 0.0
    iteration = batches * (low * (sum(pooled) / len(pooled) if pooled else 0.0) + (1 - low) * steps[1])
    once = elapsed + batches * (times.batch_start + SCORING_STEPS_PER_BATCH * steps[1]) + FINISH_SECONDS
    budget = parse_duration(config.time_budget) if config.time_budget else None
    fits = math.inf if budget is None else (budget - once) / iteration
    if n_iter is not None:
        config = config.replace(n_iter=n_iter)
    elif budget is not None:
        if fits < 1:
            raise ConfigError(
                f"--time-budget {config.time_budget} leaves no time for one iteration of {n_images} images here "
                f"(set-up took {elapsed:.0f} s, one iteration takes about {spoken(iteration)}); raise the budget "
                "or lower --n-images"
            )
        config = config.replace(n_iter=min(config.n_iter, math.ceil(fits)))  # the last one partial: Pacing
    seconds = once + min(config.n_iter, fits) * iteration
    estimate = RunEstimate(n_images, config.n_iter, config.batch_size, steps[1], elapsed, seconds, budget)
    return config, estimate


@dataclass
class Pacing:
    """A time budget spent group by group: each group's optimisation stops (a Deadline) when its share of the time
    left, in proportion to its batches and less its scoring, is spent; the run then ends at the budget whether its
    steps run faster or slower than the probe's."""

    ends_at: float  # `clock` time at which the budget is spent
    batches_left: int  # of the groups not started yet
    batch_size: int
    scoring: float  # seconds to score one batch after its optimisation (SCORING_STEPS_PER_BATCH steps)
    extra_iterations: int  # the iterations asked for beyond those the budget planned (Deadline.extra_iterations)
    clock: Callable[[], float] = time.perf_counter

    @classmethod
    def of(cls, estimate: RunEstimate, times: StepTimes, batches: int, asked: int, clock=time.perf_counter) -> Pacing:
        """Pacing for the budget of `estimate`, which counts from the run's start (its set-up is already spent);
        `asked`: the iterations of the config before the budget fitted them."""
        ends_at = clock() - estimate.setup_seconds + estimate.budget_seconds - FINISH_SECONDS
        scoring = SCORING_STEPS_PER_BATCH * times.step[1]
        return cls(ends_at, batches, estimate.batch_size, scoring, asked - estimate.n_iter, clock)

    def deadline(self, group: Group) -> Deadline:
        """The deadline of `group`, which starts now."""
        batches = len(group.batches(self.batch_size))
        now = self.clock()
        share = (self.ends_at - now) * batches / max(self.batches_left, batches)
        self.batches_left -= batches
        return Deadline(now + share - batches * self.scoring, self.clock, self.extra_iterations)
