"""Fractal images: rendered from (seed, image index) alone, sized and normalised for the model's input; no model in
the loop, so they suit any model, BN or not."""

from __future__ import annotations

import time

from onnx_datagen.config.choices import Method
from onnx_datagen.config.generation import GenerationConfig, ResolvedConfig
from onnx_datagen.config.parsing import flag
from onnx_datagen.engines.base import Deadline, Group, ProgressSink
from onnx_datagen.errors import ConfigError
from onnx_datagen.graph.prepare import ModelInput, load_model_input
from onnx_datagen.images.init import fractal
from onnx_datagen.methods.base import GroupResult, ImageMethod


class FractalMaker:
    def __init__(self, source: ModelInput, config: ResolvedConfig) -> None:
        self.source, self.config = source, config

    def make(self, group: Group, progress: ProgressSink | None, deadline: Deadline | None = None) -> GroupResult:
        started = time.perf_counter()
        images = fractal(self.config.seed, group.start, (group.size, *self.source.image.chw), self.config.normalization)
        return GroupResult(group, images, None, None, time.perf_counter() - started)

    def record(self) -> dict:
        return {}

    def step_seconds(self) -> None:
        return None  # rendered, not optimised

    def set_iterations(self, n_iter: int) -> None:
        pass

    def input_check(self) -> None:
        return None  # no model in the loop


class Fractal(ImageMethod):
    name = Method.FRACTAL
    optimises = False

    def check(self, config: GenerationConfig) -> None:
        if config.labels is not None:
            raise ConfigError("--labels needs the model in the loop; fractal images have none: drop one of them")
        if config.time_budget:
            raise ConfigError("--time-budget fits optimisation iterations; fractal images are rendered, not optimised: "
                              "drop it")  # fmt: skip
        for field in ("per_image_share", "low_res_fraction"):
            if getattr(config, field):  # accepted, they would change nothing: say so rather than ignore them
                raise ConfigError(f"{flag(field)} applies to optimised images; fractal images are rendered, not "
                                  "optimised: drop it")  # fmt: skip

    def load(self, model, input_name, size) -> ModelInput:
        return model if isinstance(model, ModelInput) else load_model_input(model, input_name, size)

    def image_maker(self, source: ModelInput, config: ResolvedConfig) -> FractalMaker:
        return FractalMaker(source, config)

    def steps(self, config: ResolvedConfig, batches: int) -> int:
        return 0


METHOD = Fractal()
