"""Method generator: one conditional generator trained data-free against the BN objective, then sampled.

GDFQ-style (Xu et al., ECCV 2020): the latent code times a class embedding goes through a small conv
generator. Every training step draws fresh latents and balanced labels and scores the model's view of the
batch with the same objective as pixel optimisation (per-batch BN alignment, output loss, class
cross-entropy, priors; TorchEngine.objective), then steps the generator's weights. Its BatchNorms are
re-estimated over many samples afterwards, so that in eval mode each image depends on its own latent and
label only: that is what lets the exported ONNX file sample any number of images, in any slices.
"""

from __future__ import annotations

from pathlib import Path

from onnx_datagen.config.choices import DataInit, EngineChoice, Granularity, Method, Parameterization
from onnx_datagen.config.generation import GenerationConfig, ResolvedConfig
from onnx_datagen.config.presets import load_preset
from onnx_datagen.engines.base import ProgressSink
from onnx_datagen.errors import ConfigError
from onnx_datagen.graph.prepare import PreparedModel
from onnx_datagen.methods.base import EngineMaker, whole_batches
from onnx_datagen.methods.bn_inversion import BnInversion


class Generator(BnInversion):  # BN inversion's model and fit; its own engine, groups and refusals
    name = Method.GENERATOR

    def check(self, config: GenerationConfig) -> None:
        if config.granularity is Granularity.ALL_IMAGES:
            raise ConfigError(
                "--method generator trains on fresh samples every step, so there is no fixed set for all-images "
                "statistics; use --granularity per-batch"
            )
        if (
            config.parameterization is Parameterization.GENERATOR
            or config.init_from
            or config.init not in (None, DataInit.GAUSSIAN)
        ):
            raise ConfigError(
                "--method generator makes its images from N(0, 1) latents; drop --parameterization, --init and "
                "--init-from"
            )
        if config.low_res_fraction:
            raise ConfigError("--low-res-fraction applies to optimised images, not to --method generator; drop it")
        if config.per_image_share:
            raise ConfigError("--per-image-share applies to optimised images, not to --method generator; drop it")
        if config.engine is EngineChoice.ORT_TRAINING:
            raise ConfigError("--method generator trains a torch generator; use --engine torch or auto")
        if config.time_budget:
            raise ConfigError(
                "--time-budget fits the iterations of optimised images; --method generator trains once for all "
                "images: give --n-iter instead"
            )

    def image_maker(self, source: PreparedModel, config: ResolvedConfig) -> EngineMaker:
        from onnx_datagen.methods.generator_training import GeneratorTrainer

        return EngineMaker(GeneratorTrainer(source, config), source)

    def group_size(self, config: ResolvedConfig) -> int:
        """About 1024 images: one training serves every group of a process, so groups only split the sampling."""
        return config.group_size if config.group_size is not None else whole_batches(config)

    def steps(self, config: ResolvedConfig, batches: int) -> int:
        return config.n_iter  # one training, however many images


METHOD = Generator()


def train_generator(
    model,
    output: str | Path,
    config: GenerationConfig | None = None,
    *,
    input_name: str | None = None,
    size: tuple[int, int] | None = None,
    progress: ProgressSink | None = None,
) -> Path:
    """Train the `generator` method's conditional generator on `model` (no data) and write it as ONNX.

    config: method generator (default: the `generator` preset). The file samples any number of images with
    `sample()` / `datagen sample`, and starts any other preset with `init_from`.
    """
    config = config or GenerationConfig.from_dict(load_preset("generator"))
    if config.method is not Method.GENERATOR:
        raise ConfigError(f"train-generator trains method generator, not {config.method.value}; use --preset generator")
    from onnx_datagen.methods.generator_training import GeneratorTrainer

    source = METHOD.source(model, config, input_name, size)
    engine = GeneratorTrainer(source, METHOD.resolve_config(source, config))
    engine.train(progress)
    engine.export_onnx(output)
    return Path(output)
