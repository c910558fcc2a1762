"""What a method needs from an optimisation engine, and the one optimisation loop every engine runs."""

from __future__ import annotations

import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from onnx_datagen.config.choices import Granularity, Precision
from onnx_datagen.config.generation import ResolvedConfig
from onnx_datagen.data.diversity import DiversitySums
from onnx_datagen.errors import OptimizationError
from onnx_datagen.graph.heads import output_classes
from onnx_datagen.graph.prepare import PreparedModel
from onnx_datagen.objective.bn_alignment import bn_loss_for
from onnx_datagen.objective.report import LayerStatistics, LayerSums, StatisticsTargets, layer_losses
from onnx_datagen.objective.weighting import LAYER_WEIGHTINGS

if TYPE_CHECKING:  # torch, imported by the engines that run
    from onnx_datagen.images.pipeline import CanvasPipeline

log = logging.getLogger("onnx_datagen")

PROBE_BATCH = 2**40  # the batch index of step-time probes: beyond any job's batches, so it shares no random stream
PROBE_STEPS = 3  # the first step of a probe warms caches up; the median of the rest is the step time
# ... and steps of a few milliseconds run on for this long (at most PROBE_MAX_STEPS): the median of two was up to 30 %
# off on the digits CNN, and a budget fitted to it 15 % short (benchmarks/results/ESTIMATE.md).
PROBE_SECONDS, PROBE_MAX_STEPS = 0.5, 40

# Watched (RETRIES below), a batch whose loss is back above BACKWARDS times where its phase started, STRIKES steps
# in a row, has gone backwards (augmentations and a flat start move the loss by a few per cent, and Adam's first steps
# can climb for two, as DSG's on the digits model) and returns to its parameters at the phase's best loss, with a fresh
# optimiser state and BACKTRACK_LR times the step size. Only groups that went backwards are watched: watched from the
# start, MobileNetV2's default sets lost 1.4-3.1 points of agreement at equal BN loss; EfficientNet-Lite0's (lr 16: the
# loss tripled within two steps once RAdam's adaptive steps began and never came back) gained 1 point under ORT
# (results_notes.md, "The optimisation must not go backwards").
BACKWARDS, STRIKES, BACKTRACK_LR = 1.1, 3, 0.5
# Unwatched, a group whose summed step loss stays above RUNAWAY times where its phase started, STRIKES iterations in a
# row, has run away: every batch goes back to its best parameters of the phase (LossWatch.backtrack) and the rest of
# the attempt runs watched. EfficientNet-Lite0's default first attempt rose to 2.2-2.3x its start by its ninth
# iteration and never came back, while every other benchmark run of the seventh session stayed under 1.12x; giving such
# an attempt up and optimising the group again from its start cost a third to a half of the run (results_notes.md,
# "The optimisation must not go backwards").
RUNAWAY = 1.5


@dataclass(frozen=True)
class Attempt:
    """How a group is optimised: watched by a LossWatch or not, with the configured views or steady ones."""

    watched: bool
    steady: bool  # every step sees the final view at full resolution (CanvasPipeline.steady, no half-resolution phase)
    what: str


# Each attempt runs only when the one before ended with the group's whole-set BN loss above its start; the lowest of
# them is kept. Watched, a step size that overshoots is cut (EfficientNet-Lite0); steady, the views no longer move the
# statistics away from what is returned: ppocr_v3_rec_en's 48x320 text lines, rolled by up to 6 rows and 45 columns and
# mirrored, went from 14.8 to 32.5 unwatched and to 28.3 watched, and to 1.69 with steady views (results_notes.md).
RETRIES = (
    Attempt(watched=False, steady=False, what="as configured"),
    Attempt(watched=True, steady=False, what="watched"),
    Attempt(watched=True, steady=True, what="watched, with steady full-resolution views"),
)

# Random streams, each derived from (seed, batch index) or (seed, group, iteration), so a group (without
# all-images statistics, a batch) regenerates alone, whatever runs before or beside it; every engine draws the
# same numbers. Stream 0 is image_init.INIT_STREAM (starting canvases).
AUGMENT_STREAM, ORDER_STREAM = 1, 2


@dataclass(frozen=True)
class Group:
    """Images start..start+size-1, optimised together; everything random in them derives from (seed, their batches)."""

    index: int
    start: int
    size: int
    per_image: bool = False  # each image matches the statistics alone, whatever the config's granularity (its share)

    def batches(self, batch_size: int) -> list[tuple[int, int]]:
        """(global batch index, images) of each batch in the group; groups start on a batch boundary."""
        first = self.start // batch_size
        return [(first + j, min(batch_size, self.size - j * batch_size)) for j in range(-(-self.size // batch_size))]


@dataclass(frozen=True)
class StepReport:
    """One optimiser step of one batch, for progress display."""

    group: int  # the group being optimised
    iteration: int  # 0-based outer iteration
    n_iter: int
    position: int  # 0-based position of this batch within the iteration
    n_batches: int
    batch: int  # the batch's index (its seed stream)
    loss: float
    bn_loss: float
    output_loss: float
    lr: float


class ProgressSink(Protocol):
    """Called after every optimiser step."""

    def __call__(self, report: StepReport) -> None: ...


@dataclass(frozen=True)
class StepTimes:
    """Measured seconds of what a run repeats for every batch: one optimiser step of a full batch by phase resolution
    (key: the phase's pool, 1 at full resolution), and the batch's start besides its steps (its starting canvas,
    rendered for fractal starts, and each phase's start)."""

    step: dict[int, float]
    batch_start: float


@dataclass(frozen=True)
class Deadline:
    """When a time-budgeted group's steps stop (run/budget.Pacing sets it): the loop ends there, mid-iteration if need
    be (a batch not stepped in the last iteration keeps its images of the iteration before, which all-images
    statistics allow: each batch's moments stay in the group's cache), and where time is left after the planned
    iterations, the last phase runs on until it, by at most `extra_iterations`."""

    at: float  # in `clock`'s seconds
    clock: Callable[[], float] = time.perf_counter
    extra_iterations: int = 0  # the iterations asked for (--n-iter) beyond those the budget planned

    def passed(self) -> bool:
        return self.clock() >= self.at


@dataclass(frozen=True)
class Looped:
    """What the optimisation loop did: optimiser steps run (each batch once per iteration; fewer when a Deadline ended
    it), and steps that went backwards and were taken back (LossWatch, and every batch's when the group ran away)."""

    steps: int
    backtracks: int


@dataclass(frozen=True)
class Phase:
    """A run of iterations at one resolution; every batch's optimiser and schedule start afresh in each."""

    iterations: int
    pool: int = 1  # the model sees the canvas pool x pool average-pooled: 1 at full resolution, 2 at half


def low_res_pools(coarsest_pool: int) -> list[int]:
    """The pools of the low-resolution phases, coarsest first: [4, 2] for a coarsest pool of 4; [] for 1."""
    return [2**k for k in range(coarsest_pool.bit_length() - 1, 0, -1)]


def phases(config: ResolvedConfig, coarsest_pool: int) -> list[Phase]:
    """DeepInversion's low-resolution start, low_res_fraction of n_iter, shared evenly by the pools from
    `coarsest_pool` down to 2 (coarse to fine; the coarser phases take what does not divide, being cheaper), then
    the rest at full resolution; all of n_iter at full resolution where `coarsest_pool` is 1."""
    pools = low_res_pools(coarsest_pool)
    low = int(config.n_iter * config.low_res_fraction) if pools else 0
    shares = [low // len(pools) + (i < low % len(pools)) for i in range(len(pools))] if pools else []
    return [Phase(n, pool) for n, pool in zip(shares, pools) if n] + [Phase(config.n_iter - low)]


@dataclass
class OptimisedBatch:
    """One batch under optimisation: its parameters, its augmentation stream, and the current phase's optimiser
    and schedule (an engine's `_start_phase` sets them)."""

    index: int  # the batch's global index: its random streams and its images (index x batch_size ...)
    size: int
    params: object  # the optimised tensor: the canvas itself, or the latents `generator` maps to it
    rng: np.random.Generator  # the batch's augmentation stream
    generator: object | None = None  # GENIE's per-batch generator, when the images are parameterised by one
    optimizer: object = None
    schedule: object = None
    watch: LossWatch | None = None  # the loop's

    def canvas(self):
        return self.params if self.generator is None else self.generator(self.params)


class Strikes:
    """Losses in a row above `factor` times the current phase's first loss."""

    def __init__(self, factor: float) -> None:
        self.factor = factor
        self.new_phase()

    def new_phase(self) -> None:
        self.start, self.count = None, 0

    def struck_out(self, loss: float) -> bool:
        """Whether `loss` is the STRIKES-th in a row above the factor times the phase's first."""
        if self.start is None:
            self.start = loss
        self.count = self.count + 1 if self.start > 0 and loss > self.start * self.factor else 0
        return self.count >= STRIKES

    def start_over(self) -> None:
        """Forget the strikes so far; the phase's first loss stays the reference."""
        self.count = 0


class LossWatch:
    """One batch's first and best loss in the current phase, its optimised tensors at the best, and its step size
    after backtracks."""

    def __init__(self) -> None:
        self.lr_scale, self.backtracks = 1.0, 0
        self.rise = Strikes(BACKWARDS)
        self.new_phase()

    def new_phase(self) -> None:
        self.best, self.snapshot = math.inf, None
        self.rise.new_phase()

    def went_backwards(self, loss: float) -> bool:
        """Whether `loss` is the STRIKES-th in a row above BACKWARDS times the phase's first."""
        return self.rise.struck_out(loss)

    def remember(self, loss: float, batch: OptimisedBatch) -> None:
        """Keep the tensors that gave `loss` (before the step that follows it) when it is the phase's best."""
        if loss < self.best:
            self.best, self.snapshot = loss, [t.detach().clone() for t in optimised_tensors(batch)]

    def backtrack(self, batch: OptimisedBatch) -> None:
        """Back to the best tensors, the optimiser's moments forgotten, the step size cut."""
        batch.optimizer.zero_grad(set_to_none=True)
        for tensor, kept in zip(optimised_tensors(batch), self.snapshot):
            tensor.data.copy_(kept)
        batch.optimizer.state.clear()
        self.lr_scale *= BACKTRACK_LR
        self.backtracks += 1
        self.rise.start_over()


class GroupWatch(Strikes):
    """A group's summed step loss per iteration against its phase's first (RUNAWAY), and the iterations at which it
    ran away."""

    def __init__(self) -> None:
        super().__init__(RUNAWAY)
        self.ran_away: list[int] = []


def optimised_tensors(batch: OptimisedBatch) -> list:
    return [t for group in batch.optimizer.param_groups for t in group["params"]]


def _sums_of(layers: list[np.ndarray]) -> LayerSums:
    """Per-channel sums, sums of squares and counts over the images and positions of each layer (N x C x ...)."""
    sums, squares, counts = [], [], []
    for t in layers:  # one at a time: float64 copies of every layer would outweigh a training step
        f = t.astype(np.float64).swapaxes(0, 1).reshape(t.shape[1], -1)
        sums.append(f.sum(axis=1))
        squares.append((f * f).sum(axis=1))
        counts.append(f.shape[1])
    return LayerSums(sums, squares, counts)


@dataclass
class Measured:
    """One batch through the model: the input and every BN input, the first output, the first head's features."""

    layers: list[np.ndarray]
    logits: np.ndarray | None
    features: np.ndarray | None


class Engine(ABC):
    """An engine: optimise canvases into images, and measure BN-input statistics of any image set.

    Engines only run the model (`measure`); the sums every engine reports are computed here, in float64.
    """

    config: ResolvedConfig
    prepared: PreparedModel
    backtracks = 0  # of the last optimize(): optimiser steps that went backwards and were taken back (LossWatch)
    attempts = 1  # of the last optimize(): how many times the group was optimised (RETRIES)
    steps: int | None = None  # of the last optimize(): optimiser steps that made the images returned (Looped.steps)
    deadline: Deadline | None = None  # when the optimisation of the groups that follow must stop (a time budget)

    @abstractmethod
    def optimize(
        self, group: Group, progress: ProgressSink | None = None
    ) -> tuple[LayerSums, np.ndarray, LayerSums | None]:
        """Return the group's (starting images' layer_sums, final images N x C x H x W float32 in model-input space,
        the final images' layer_sums; None on a model without BN statistics, where there is nothing to score). The
        starting images are measured before the optimisation and dropped, not held through it."""

    @abstractmethod
    def engine_record(self) -> dict:
        """The manifest's `engine` entry: the engine's name, versions and settings that decide the numerics."""

    @abstractmethod
    def measure(self, images: np.ndarray) -> Measured:
        """Run one batch of images (N x C x H x W, model-input space) through the model, without gradients."""

    def _measured(self, images: np.ndarray):
        for start in range(0, len(images), self.config.batch_size):
            yield self.measure(images[start : start + self.config.batch_size])

    def layer_sums(self, images: np.ndarray) -> LayerSums:
        """Sums over all images and positions of `images` (input first, then BN layers in graph order)."""
        total = None
        for measured in self._measured(images):
            part = _sums_of(measured.layers)
            total = part if total is None else total + part
        return total

    def image_sums(self, images: np.ndarray) -> list[LayerSums]:
        """Each image's own sums (as layer_sums of that image alone), from one pass over its batch."""
        return [
            _sums_of([t[i : i + 1] for t in m.layers]) for m in self._measured(images) for i in range(len(m.layers[0]))
        ]

    def diversity_sums(self, images: np.ndarray) -> DiversitySums:
        """Unit penultimate features (input of the first output's linear layer) and predicted classes, summed."""

        classes = output_classes(self.prepared)
        feature_sum = counts = None
        for measured in self._measured(images):
            if measured.features is not None:
                f = measured.features.astype(np.float64).reshape(len(measured.features), -1)
                unit = (f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)).sum(axis=0)
                feature_sum = unit if feature_sum is None else feature_sum + unit
            if classes:
                found = np.bincount(measured.logits.argmax(axis=1), minlength=classes)
                counts = found if counts is None else counts + found
        return DiversitySums(len(images), feature_sum, counts)

    def layer_statistics(self, images: np.ndarray) -> LayerStatistics:
        return self.layer_sums(images).statistics()

    def step_seconds(self) -> StepTimes | None:
        """What one batch's steps and start cost here; None for an engine whose work is not a number of steps per
        batch."""
        return None


class BatchLoopEngine(Engine):
    """An engine that optimises a group's batches of images step by step (the torch and ort-training engines).

    The loop is here, once; an engine supplies how a phase starts, one forward/backward, and what follows an
    update, so both engines visit batches in the same order, check for divergence and step schedules alike.
    """

    pipeline: CanvasPipeline  # canvases -> model-input views (the steady attempt swaps in CanvasPipeline.steady())
    coarsest_pool = 1  # of DeepInversion's low-resolution phases; 1: none run (the torch engine probes the model)
    cache = None  # all-images statistics of the group being optimised: the engine's moment cache, else None
    per_image_group = False  # whether the group being optimised is one of the per-image share's (Group.per_image)

    def optimize(
        self, group: Group, progress: ProgressSink | None = None
    ) -> tuple[LayerSums, np.ndarray, LayerSums | None]:
        retries = bool(self.prepared.bn_sites)  # without BN statistics there is no loss to judge an attempt by
        initial, images, looped, start = self._optimize_once(group, progress, RETRIES[0], group_watch=retries)
        self.attempts, self.backtracks, self.steps = 1, looped.backtracks, looped.steps
        if not retries:
            return initial, images, None
        final = self.layer_sums(images)
        end = self._attempt_loss(group, images, final)
        for retry in RETRIES[1:]:
            if end <= start:
                break
            judged = "the images' own BN losses (their mean)" if group.per_image else "the BN loss"
            why = f"{judged} ended above its start ({start:.4g} -> {end:.4g})"
            if self.deadline is not None and self.deadline.passed():
                log.warning("group %d: %s, and the time budget leaves no time to optimise it again", group.index, why)
                break
            log.warning("group %d: %s; optimising it again, %s", group.index, why, retry.what)
            _, again, looped, _ = self._optimize_once(group, progress, retry)
            self.backtracks += looped.backtracks
            self.attempts += 1
            sums = self.layer_sums(again)
            loss = self._attempt_loss(group, again, sums)
            if loss < end:  # the lowest of the attempts, should none end below its start
                images, final, end, self.steps = again, sums, loss, looped.steps
            del again
        return initial, images, final

    def _optimize_once(
        self, group: Group, progress: ProgressSink | None, attempt: Attempt, group_watch: bool = False
    ) -> tuple[LayerSums, np.ndarray, Looped, float | None]:
        """(starting images' sums, final images, what the loop did, the starting images' _attempt_loss; None without
        BN statistics) of one attempt; with `group_watch`, a group whose loss runs away is taken back and watched
        (GroupWatch)."""
        c = self.config
        batches = [self._new_batch(index, size) for index, size in group.batches(c.batch_size)]
        starting = self._final_images(batches)
        initial = self.layer_sums(starting)
        start = self._attempt_loss(group, starting, initial) if self.prepared.bn_sites else None
        del starting
        self.per_image_group = group.per_image
        self.cache = self._moment_cache(len(batches)) if self.granularity is Granularity.ALL_IMAGES else None
        steps = phases(c, 1 if attempt.steady else self.coarsest_pool)
        pipeline = self.pipeline
        if attempt.steady:
            self.pipeline = pipeline.steady()
        try:
            watch = GroupWatch() if group_watch else None
            looped = optimisation_loop(self, group, batches, steps, progress, attempt.watched, watch, self.deadline)
            for iteration in watch.ran_away if watch is not None else []:
                log.warning("group %d: the loss stayed above %gx its phase's start %d iterations in a row; every batch "
                            "went back to its best images of the phase at iteration %d of %d, watched from there",
                            group.index, RUNAWAY, STRIKES, iteration + 1, c.n_iter)  # fmt: skip
            return initial, self._final_images(batches), looped, start
        finally:
            self.pipeline = pipeline

    @property
    def granularity(self) -> Granularity:
        """The statistics the group being optimised matches: the config's, or each image's own in a per-image group."""
        return Granularity.PER_IMAGE if self.per_image_group else self.config.granularity

    def _attempt_loss(self, group: Group, images: np.ndarray, sums: LayerSums) -> float:
        """What an attempt at `group` is judged by: its images' whole-set BN loss (`sums`), or in a per-image group,
        whose images each match the statistics alone, the mean of each image's own."""
        if not group.per_image:
            return self.whole_set_bn_loss(sums)
        return float(np.mean([self.whole_set_bn_loss(own) for own in self.image_sums(images)]))

    def whole_set_bn_loss(self, sums: LayerSums) -> float:
        """The whole-set BN loss of `sums`, as the manifest reports it."""
        c = self.config
        targets = StatisticsTargets.from_sites(self.prepared.bn_sites, self.prepared.image.channels)
        weights = LAYER_WEIGHTINGS[c.layer_weighting](len(targets.names) - 1, c.input_term, c.first_layer_multiplier)
        return float(np.dot(weights, layer_losses(sums.statistics(), targets, bn_loss_for(c))))

    def step_seconds(self) -> StepTimes:
        """What one full batch's steps and start cost, measured on a throwaway batch whose random streams no job
        uses, so the images that follow are unchanged."""
        self._prepare()
        started = time.perf_counter()
        probe, measured = self._new_batch(PROBE_BATCH, self.config.batch_size), {}
        starts = time.perf_counter() - started
        for pool in [*low_res_pools(self.coarsest_pool), 1]:
            phase = Phase(PROBE_MAX_STEPS, pool)
            self.cache = self._moment_cache(1) if self.granularity is Granularity.ALL_IMAGES else None
            started = time.perf_counter()
            self._start_phase([probe], phase)
            starts += time.perf_counter() - started
            seconds = []
            while len(seconds) < PROBE_STEPS or (sum(seconds) < PROBE_SECONDS and len(seconds) < PROBE_MAX_STEPS):
                started = time.perf_counter()
                self._step(probe, 0)
                probe.optimizer.step()
                self._after_update(probe, 0)
                seconds.append(time.perf_counter() - started)
            measured[pool] = float(np.median(seconds[1:]))
        self.cache = None
        return StepTimes(measured, starts)

    def _prepare(self) -> None:  # noqa: B027 - most engines need nothing before their first step
        """Whatever must exist before the first step of any group (computed once)."""

    @abstractmethod
    def _new_batch(self, index: int, size: int) -> OptimisedBatch:
        """Batch `index` (global) of `size` images at its start: parameters and augmentation stream."""

    @abstractmethod
    def _moment_cache(self, n_batches: int):
        """An empty cache of per-batch moments for all-images statistics (slot j: the group's batch j)."""

    @abstractmethod
    def _final_images(self, batches: list[OptimisedBatch]) -> np.ndarray:
        """The batches' images as returned (final views), N x C x H x W float32."""

    @abstractmethod
    def _start_phase(self, batches: list[OptimisedBatch], phase: Phase) -> None:
        """Give every batch a fresh optimiser and schedule for `phase` (and refill what caches depend on it)."""

    @abstractmethod
    def _step(self, batch: OptimisedBatch, slot: int) -> tuple[float, float, float]:
        """Forward and backward of one batch (its gradient left on its parameters): (loss, BN loss, output loss)."""

    def _after_update(self, batch: OptimisedBatch, iteration: int) -> None:
        """Whatever follows the optimiser's step (e.g. folding stored pixels back into range)."""


class SteppedEngine(Protocol):
    """What the loop calls: an engine's phase start, one forward/backward, and what follows an update."""

    config: ResolvedConfig

    def _start_phase(self, batches: list[OptimisedBatch], phase: Phase) -> None: ...

    def _step(self, batch: OptimisedBatch, slot: int) -> tuple[float, float, float]: ...

    def _after_update(self, batch: OptimisedBatch, iteration: int) -> None: ...


def optimisation_loop(
    engine: SteppedEngine,
    group: Group,
    batches: list[OptimisedBatch],
    phase_list: list[Phase],
    progress: ProgressSink | None,
    watched: bool = False,
    group_watch: GroupWatch | None = None,
    deadline: Deadline | None = None,
) -> Looped:
    """Every iteration steps each of the group's batches once, in an order drawn from (seed, group, iteration).

    The one loop of every engine and of the generator method: batches are visited in the same order, divergence is
    checked, schedules are stepped alike and, `watched`, steps that go backwards are taken back (LossWatch); with a
    `group_watch`, a group whose loss runs away goes back to each batch's best parameters of the phase and is watched
    from there; with a `deadline`, the loop ends when its time is up (and not before, where its extra iterations
    allow)."""
    c = engine.config
    iteration = steps = 0
    for batch in batches:
        batch.watch = LossWatch()

    def looped() -> Looped:
        return Looped(steps, sum(batch.watch.backtracks for batch in batches))

    extra = deadline.extra_iterations if deadline is not None else 0
    for phase in phase_list:
        engine._start_phase(batches, phase)
        for batch in batches:
            batch.watch.new_phase()
        if group_watch is not None:
            group_watch.new_phase()
        for _ in range(phase.iterations + (extra if phase is phase_list[-1] else 0)):
            iteration_loss = 0.0
            order = np.random.default_rng([c.seed, ORDER_STREAM, group.index, iteration]).permutation(len(batches))
            for position, slot in enumerate(order):
                if deadline is not None and deadline.passed():
                    return looped()
                batch = batches[slot]
                loss, bn_loss, output_loss = engine._step(batch, slot)
                steps += 1
                iteration_loss += loss
                if not np.isfinite(loss):
                    first = batch.index * c.batch_size
                    raise OptimizationError(
                        f"the loss became {loss} at iteration {iteration + 1}, batch {batch.index} (images "
                        f"{first}..{first + batch.size - 1}); lower --lr, or use --optimizer adam"
                        + (" or --precision fp32" if c.precision is Precision.FAST else "")
                    )
                if watched and batch.watch.went_backwards(loss):
                    batch.watch.backtrack(batch)  # this step's gradient belongs to the parameters left behind
                else:
                    if watched or group_watch is not None:  # a copy at each new best: only where it may be needed
                        batch.watch.remember(loss, batch)
                    batch.optimizer.step()
                    engine._after_update(batch, iteration)
                lr = batch.schedule.step(loss) * batch.watch.lr_scale
                batch.optimizer.param_groups[0]["lr"] = lr
                if progress is not None:
                    progress(StepReport(group.index, iteration, c.n_iter + extra, position, len(batches), batch.index,
                                        loss, bn_loss, output_loss, lr))  # fmt: skip
            if group_watch is not None and group_watch.struck_out(iteration_loss):
                group_watch.ran_away.append(iteration)
                group_watch.start_over()
                for batch in batches:  # each step's gradient is spent: a batch's best is where it goes back to
                    batch.watch.backtrack(batch)
                watched = True
            iteration += 1
    return looped()
