"""Learning-rate schedules: plain Python, stepped once per outer iteration with the batch's loss."""

from __future__ import annotations

import math

from onnx_datagen.config.choices import Scheduler
from onnx_datagen.config.generation import ResolvedConfig

PLATEAU_THRESHOLD = 1e-4  # relative improvement that counts as progress (torch's default, as MCT)


class ReduceOnPlateau:
    """Multiply the lr by `factor` after `patience` steps without a relative improvement of 1e-4.

    With `reset`, the best loss is forgotten after every cut (MCT's REDUCE_ON_PLATEAU_WITH_RESET),
    so patience restarts against the new regime instead of the best loss ever seen.
    """

    def __init__(self, lr: float, factor: float, patience: int, min_lr: float, reset: bool) -> None:
        self.lr, self.factor, self.patience, self.min_lr, self.reset = lr, factor, patience, min_lr, reset
        self.best = math.inf
        self.bad_steps = 0

    def step(self, loss: float) -> float:
        if loss < self.best * (1 - PLATEAU_THRESHOLD):  # torch's rule, also for negative losses
            self.best, self.bad_steps = loss, 0
        else:
            self.bad_steps += 1
        if self.bad_steps > self.patience:
            self.lr = max(self.lr * self.factor, self.min_lr)
            self.bad_steps = 0
            if self.reset:
                self.best = math.inf
        return self.lr


class StepDecay:
    def __init__(self, lr: float, step_size: int, gamma: float) -> None:
        self.lr0, self.step_size, self.gamma, self.steps = lr, step_size, gamma, 0

    def step(self, loss: float) -> float:
        self.steps += 1
        return self.lr0 * self.gamma ** (self.steps // self.step_size)


class Cosine:
    def __init__(self, lr: float, n_iter: int, min_lr: float) -> None:
        self.lr0, self.n_iter, self.min_lr, self.steps = lr, n_iter, min_lr, 0

    def step(self, loss: float) -> float:
        self.steps += 1
        progress = min(self.steps / self.n_iter, 1.0)
        return self.min_lr + (self.lr0 - self.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


class Constant:
    def __init__(self, lr: float) -> None:
        self.lr = lr

    def step(self, loss: float) -> float:
        return self.lr


SCHEDULES = {  # (config, iterations of the phase) -> schedule
    Scheduler.REDUCE_ON_PLATEAU: lambda c, n: ReduceOnPlateau(c.lr, c.scheduler_factor, c.patience, c.min_lr, False),
    Scheduler.REDUCE_ON_PLATEAU_WITH_RESET: lambda c, n: ReduceOnPlateau(
        c.lr, c.scheduler_factor, c.patience, c.min_lr, True
    ),
    Scheduler.STEP: lambda c, n: StepDecay(c.lr, max(1, n // 3), c.step_gamma),
    Scheduler.COSINE: lambda c, n: Cosine(c.lr, n, c.min_lr),
    Scheduler.CONSTANT: lambda c, n: Constant(c.lr),
}


def make_schedule(config: ResolvedConfig, iterations: int | None = None):
    """A fresh schedule for one batch over `iterations` steps (default n_iter): `.step(loss) -> lr for the next
    step`. A low-resolution phase restarts it, as DeepInversion restarts its cosine schedule."""
    return SCHEDULES[config.scheduler](config, iterations or config.n_iter)
