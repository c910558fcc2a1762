"""What a method is: one module in methods/ per --method value, saying what the method needs from the model file,
which settings it refuses, and how it makes a group of images. Everything method-specific lives in that module."""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import onnx

from onnx_datagen.config.choices import EngineChoice, Granularity, Method, OutputLoss
from onnx_datagen.config.defaults import ALL_IMAGES_GROUP
from onnx_datagen.config.generation import GenerationConfig, ResolvedConfig
from onnx_datagen.data.diversity import DiversitySums
from onnx_datagen.engines.base import Deadline, Engine, Group, ProgressSink, StepTimes
from onnx_datagen.errors import ConversionError, DependencyError
from onnx_datagen.graph.heads import classifier_classes, output_classes
from onnx_datagen.graph.image_input import describe_dims, tensor_dims
from onnx_datagen.graph.prepare import ModelInput, PreparedModel
from onnx_datagen.images.photo_like import photo_like_pixels
from onnx_datagen.objective.input_convention import InputCheck, check_input
from onnx_datagen.objective.report import LayerSums

log = logging.getLogger("onnx_datagen")

ModelSource = ModelInput | PreparedModel  # the model as a method needs it
INPUT_CHECK_IMAGES = 4  # photo-like images per convention when the given normalisation is checked (a few seconds)


@dataclass
class GroupResult:
    """A finished group: its images and the BN-input sums before and after (None without BN statistics)."""

    group: Group
    images: np.ndarray | None  # None when read back for its sums alone (the images are streamed from its file)
    initial: LayerSums | None
    final: LayerSums | None
    seconds: float  # making the images, not measuring them
    diversity: DiversitySums | None = None  # None when no model is in the loop (fractal)
    backtracks: int = 0  # optimiser steps that went backwards and were taken back (engines.base.LossWatch)
    attempts: int = 1  # times the group was optimised: more when its BN loss ended above its start (RETRIES)
    # each batch's optimiser steps on average: n_iter, or where a time budget's deadline ended the group, fewer or more
    # (engines.base.Deadline); None where no batches were stepped
    iterations: float | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"images": self.images, "group": np.asarray([self.group.index, self.group.start, self.group.size])}
        out["seconds"] = np.asarray(self.seconds)
        out["backtracks"] = np.asarray(self.backtracks)
        out["attempts"] = np.asarray(self.attempts)
        if self.iterations is not None:
            out["iterations"] = np.asarray(self.iterations)
        for prefix, sums in (("initial", self.initial), ("final", self.final)):
            if sums is not None:
                out.update(sums.arrays(prefix))
        if self.diversity is not None:
            out.update(self.diversity.arrays())
        return out

    @classmethod
    def from_arrays(cls, arrays, images: bool = True) -> GroupResult:
        index, start, size = (int(v) for v in arrays["group"])
        return cls(
            Group(index, start, size),
            arrays["images"] if images else None,  # an .npz reads each array only when asked for it
            LayerSums.from_arrays(arrays, "initial"),
            LayerSums.from_arrays(arrays, "final"),
            float(arrays["seconds"]),
            DiversitySums.from_arrays(arrays),
            int(arrays["backtracks"]) if "backtracks" in arrays else 0,  # run folders from before the watch
            int(arrays["attempts"]) if "attempts" in arrays else 1,
            float(arrays["iterations"]) if "iterations" in arrays else None,  # and before budgets' deadlines
        )


class ImageMaker(Protocol):
    """Makes any group of one job in this process; the slow setup (model conversion) is done when it is built."""

    def make(self, group: Group, progress: ProgressSink | None, deadline: Deadline | None = None) -> GroupResult:
        """The group's images and sums; with a `deadline`, its optimisation stops there (a time budget's share)."""

    def record(self) -> dict:
        """What the manifest says about how the images were made (merged datasets take it from their shards)."""

    def step_seconds(self) -> StepTimes | None:
        """What a batch's steps and start cost here (Engine.step_seconds); None: nothing to fit."""

    def set_iterations(self, n_iter: int) -> None:
        """Optimise every group that follows for n_iter iterations (a time budget's choice)."""

    def input_check(self) -> InputCheck | None:
        """How the given normalisation fits the model's first BN layers (None: no statistics to check against)."""


class ImageMethod(ABC):
    """One way of making images."""

    name: Method
    optimises = True  # False: images without a model in the loop (timing reports render seconds)

    def check(self, config: GenerationConfig) -> None:  # noqa: B027 - most methods refuse nothing
        """Refuse settings this method cannot honour, before the model is read."""

    @abstractmethod
    def load(self, model: str | Path | onnx.ModelProto, input_name: str | None, size) -> ModelSource:
        """The model as this method needs it."""

    def source(self, model, config: GenerationConfig, input_name: str | None = None, size=None) -> ModelSource:
        """The model as this method needs it (a prepared model passes through, a loaded one is prepared if the method
        needs it), checked against config."""
        self.check(config)
        source = model if isinstance(model, PreparedModel) else self.load(model, input_name, size)
        config.normalization.per_channel(source.image.channels)  # fails early on a mean/std of the wrong length
        return source

    def resolve_config(self, source: ModelSource, config: GenerationConfig) -> ResolvedConfig:
        """The config as this model runs it: the defaults that depend on the image size filled in (methods add:
        settings the model cannot use turned off, with a note)."""
        return config.resolve(source.image.height, source.image.width)

    @abstractmethod
    def image_maker(self, source: ModelSource, config: ResolvedConfig) -> ImageMaker:
        """Everything that makes this job's groups (a converted model, an engine)."""

    def group_size(self, config: ResolvedConfig) -> int:
        """config.group_size, or its default: about 1024 images for all-images statistics, else one batch."""
        if config.group_size is not None:
            return config.group_size
        return whole_batches(config) if config.granularity is Granularity.ALL_IMAGES else config.batch_size

    def steps(self, config: ResolvedConfig, batches: int) -> int:
        """Optimiser steps for `batches` batches (progress and time estimates)."""
        return batches * config.n_iter


def whole_batches(config: ResolvedConfig) -> int:
    """About ALL_IMAGES_GROUP images, in whole batches."""
    return max(1, round(ALL_IMAGES_GROUP / config.batch_size)) * config.batch_size


class EngineMaker:
    """Images optimised by an engine, measured by the same engine."""

    def __init__(self, engine: Engine, source: PreparedModel) -> None:
        self.engine, self.source = engine, source
        self._input_check: InputCheck | None = None

    def make(self, group: Group, progress: ProgressSink | None, deadline: Deadline | None = None) -> GroupResult:
        started = time.perf_counter()
        self.engine.deadline = deadline
        initial, images, final = self.engine.optimize(group, progress)
        seconds = time.perf_counter() - started  # making the images (and measuring them, before and after)
        diversity = self.engine.diversity_sums(images)
        steps = self.engine.steps
        iterations = None if steps is None else steps / len(group.batches(self.engine.config.batch_size))
        watch = self.engine.backtracks, self.engine.attempts, iterations
        if final is None:  # method prior on a model without BN: no statistics to score
            return GroupResult(group, images, None, None, seconds, diversity, *watch)
        return GroupResult(group, images, initial, final, seconds, diversity, *watch)

    def step_seconds(self) -> StepTimes | None:
        return self.engine.step_seconds()

    def set_iterations(self, n_iter: int) -> None:
        self.engine.config = self.engine.config.replace(n_iter=n_iter)  # read only when a group is optimised

    def input_check(self) -> InputCheck | None:
        channels, height, width = self.source.image.chw
        # once, for photos' channel counts (gray or colour): a few forward passes
        if self._input_check is None and self.source.bn_sites and channels in (1, 3):
            pixels = photo_like_pixels(INPUT_CHECK_IMAGES, height, width, channels)
            normalization = self.engine.config.normalization
            self._input_check = check_input(self.engine.layer_statistics, self.source.bn_sites, normalization, pixels)
        return self._input_check

    def record(self) -> dict:
        record = {
            "canvas_margin": self.engine.pipeline.extra,  # the resolved extra_pixels
            "label_cycle": self.engine.label_cycle,
            "engine": self.engine.engine_record(),
        }
        if self._input_check is not None:
            record["input_check"] = self._input_check.record()
        if self.source.without_statistics:  # --method auto's choice, and why
            record["method_choice"] = f"auto: {self.source.without_statistics} model, no BN statistics to invert"
        return record


def choose_engine(prepared: PreparedModel, config: ResolvedConfig) -> Engine:
    """--engine torch, ort-training, or auto: torch, else ort-training for a model onnx2torch cannot convert."""
    if config.engine is EngineChoice.ORT_TRAINING:
        from onnx_datagen.engines.ort_training.engine import OrtTrainingEngine

        return OrtTrainingEngine(prepared, config)
    from onnx_datagen.engines.torch.engine import TorchEngine

    try:
        return TorchEngine(prepared, config)
    except ConversionError as err:
        if config.engine is EngineChoice.TORCH:
            raise
        from onnx_datagen.engines.ort_training.engine import EXTRA, OrtTrainingEngine

        full_size = config.replace(low_res_fraction=0.0)  # it builds one training graph per image size
        try:
            engine = OrtTrainingEngine(prepared, full_size)
        except DependencyError:
            raise ConversionError(
                f"{err}; --engine auto falls back to ort-training for such models: install {EXTRA} in its own "
                "environment"
            ) from err
        at_full_size = ", every iteration at full size" if config.low_res_fraction else ""
        log.warning("%s; --engine auto uses ort-training instead%s", err, at_full_size)
        return engine


def without_unusable_output_loss(source: PreparedModel, config: ResolvedConfig) -> ResolvedConfig:
    """Class targets need class scores; the output term stretches them apart. A model without an [N, K] first
    output (detection, segmentation) runs with the term off: BN inversion needs no logits, and on a
    dense-prediction model the term scored the same at twice the time (benchmarks/results/DENSE.md)."""
    if config.class_weight:
        classifier_classes(source)  # refuses class targets on a model without class scores, before any note
    if config.output_loss is OutputLoss.NONE or not config.output_loss_multiplier:
        return config
    if output_classes(source) is not None:
        return config
    log.warning(
        "%s: the first output is %s, not class scores [N, K]; --output-loss %s is off for this model",
        source.label,
        describe_dims(tensor_dims(source.model.graph.output[0])),
        config.output_loss.value,
    )
    return config.replace(output_loss=OutputLoss.NONE)
