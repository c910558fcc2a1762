"""Generation in groups: the images optimised together, and the unit that is sharded, resumed and sent to workers.

A group's bytes depend only on the model, the config, the seed and the group's index (CPU, fp32), so
groups can run in any order, in any process, and still add up to the same dataset.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

from onnx_datagen.config.choices import Device, Precision
from onnx_datagen.config.generation import GenerationConfig, ResolvedConfig
from onnx_datagen.engines.base import Group, ProgressSink
from onnx_datagen.errors import ConfigError
from onnx_datagen.graph.prepare import ModelInput, PreparedModel
from onnx_datagen.methods.base import GroupResult
from onnx_datagen.methods.registry import method_for
from onnx_datagen.objective.report import StatisticsTargets
from onnx_datagen.run.budget import Pacing, RunEstimate, fit_iterations

log = logging.getLogger("onnx_datagen")


def plan_groups(n_images: int, config: ResolvedConfig) -> list[Group]:
    """The groups in order: the config's (about group_size images each), then the per-image share's, a batch each."""
    size = method_for(config).group_size(config)
    shared = n_images - per_image_images(n_images, config)
    groups = [Group(i, start, min(size, shared - start)) for i, start in enumerate(range(0, shared, size))]
    batch = config.batch_size
    alone = range(shared, n_images, batch)
    return groups + [Group(len(groups) + j, start, min(batch, n_images - start), per_image=True)
                     for j, start in enumerate(alone)]  # fmt: skip


def per_image_images(n_images: int, config: ResolvedConfig) -> int:
    """How many of the last images make the per-image share: config.per_image_share of them in whole batches (none
    where that rounds to none), plus the part batch that ends a set of other than whole batches, so that the
    per-image groups start on a batch boundary."""
    batch = config.batch_size
    whole = round(n_images * config.per_image_share / batch) * batch
    return min(n_images, whole + n_images % batch) if whole else 0


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (1-based): a contiguous block of groups, so shard k holds a slice of the images."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match or not 1 <= int(match[1]) <= int(match[2]):
            raise ConfigError(f"--shard takes K/N with 1 <= K <= N (e.g. 2/4), got {text!r}")
        return cls(int(match[1]), int(match[2]))

    def select(self, groups: list[Group]) -> list[Group]:
        n = len(groups)
        return groups[(self.index - 1) * n // self.count : self.index * n // self.count]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def statistics_targets(source: ModelInput | PreparedModel) -> StatisticsTargets | None:
    """The BN targets the set is scored against, or None when the method matches no statistics."""
    sites = getattr(source, "bn_sites", None)
    return StatisticsTargets.from_sites(sites, source.image.channels) if sites else None


def determinism(config: GenerationConfig, paced: bool = False) -> dict:
    """What the manifest promises about reproducing these bytes (checked: tests/run/test_jobs.py); `paced`: a time
    budget's deadline ended the optimisation (run/budget.Pacing)."""
    if paced:
        return {
            "byte_identical": False,
            "scope": "a time budget's deadline ended the optimisation (timing.iterations_done), and where it fell "
            "depends on the machine's speed at the time: give --n-iter instead of --time-budget for bytes that a "
            "rerun reproduces",
        }
    if not method_for(config).optimises or (config.device is Device.CPU and config.precision is Precision.FP32):
        import torch

        return {
            "byte_identical": True,
            "scope": "same model, config and seed, same engine build (torch, or onnxruntime-training) and CPU kernels "
            "(torch's CPU capability and oneDNN ISA): one run, shards, resumed runs and Ray tasks write the same bytes "
            "(checked with 1 and 2 threads on both engines); other kernels round differently, so other bytes",
            "torch": torch.__version__,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),  # of the process that wrote the manifest
        }
    return {
        "byte_identical": False,
        "scope": "GPU kernels and bf16 (--precision fast) are not bit-reproducible: shards and resumed runs "
        "are valid images of the same job, not the bytes of one run",
    }


class GroupRunner:
    """Makes any group of a job in this process; the slow setup (model conversion) happens once, here."""

    def __init__(self, source: ModelInput | PreparedModel, config: ResolvedConfig) -> None:
        self.maker = method_for(config).image_maker(source, config)
        self.estimate: RunEstimate | None = None  # once planned
        self.pacing: Pacing | None = None  # once planned with a time budget
        check = self.maker.input_check()
        if check is not None and check.warning:
            log.warning("%s: %s", source.label, check.warning)

    def run(self, group: Group, progress: ProgressSink | None = None) -> GroupResult:
        return self.maker.make(group, progress, self.pacing and self.pacing.deadline(group))

    def plan(
        self, config: ResolvedConfig, n_images: int, elapsed: float, n_iter: int | None = None
    ) -> GenerationConfig:
        """Measure the step time, fit the iterations to config.time_budget (less the `elapsed` set-up) and log the
        estimate, which run_record then carries; returns the config with the iterations chosen. With a budget, the
        groups that follow (all of the run's) are paced to end at it. `n_iter`: the iterations an earlier run of this
        job chose (resume: its groups run them all, unpaced)."""
        measuring = time.perf_counter()
        times = self.maker.step_seconds()  # may include work done once per run before the first step (a pilot)
        if times is None:  # a method that renders, or trains once for all images: nothing to fit
            return config
        batches = sum(-(-g.size // config.batch_size) for g in plan_groups(n_images, config))
        elapsed += time.perf_counter() - measuring
        asked = config.n_iter
        config, self.estimate = fit_iterations(times, config, n_images, batches, elapsed, n_iter)
        if self.estimate.budget_seconds and n_iter is None:
            self.pacing = Pacing.of(self.estimate, times, batches, asked)
        self.maker.set_iterations(config.n_iter)
        log.info("%s", self.estimate.text())
        return config

    def run_record(self) -> dict:
        """What the manifest says about how the images were made (merged datasets take it from their shards)."""
        record = self.maker.record()
        return {**record, "time_estimate": self.estimate.record()} if self.estimate else record
