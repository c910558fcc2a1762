"""generate(): model in, calibration images out."""

from __future__ import annotations

import datetime
import platform
import time
from pathlib import Path

import onnx

from onnx_datagen._version import __version__
from onnx_datagen.backends.base import ProgressSink
from onnx_datagen.config import GenerationConfig, Method
from onnx_datagen.dataset import Dataset
from onnx_datagen.errors import ConfigError
from onnx_datagen.graph.prepare import ModelInput, PreparedModel, load_model_input, prepare_model


def generate(
    model: str | Path | onnx.ModelProto | ModelInput | PreparedModel,
    n_images: int = 1024,
    config: GenerationConfig | None = None,
    *,
    input_name: str | None = None,
    size: tuple[int, int] | None = None,
    progress: ProgressSink | None = None,
) -> Dataset:
    """Optimise `n_images` images until the model's BatchNorm input statistics match its running statistics
    (or, with config.method fractal, render model-agnostic fractal images sized for the model's input).

    Args:
        model: path of an .onnx file (external data next to it is loaded), an onnx.ModelProto, or a model
            already checked with onnx_datagen.graph.prepare.prepare_model (input_name and size then unused).
        n_images: how many images to generate.
        config: every optimisation setting; GenerationConfig() gives the defaults.
        input_name: the image input, when the model has several 4-D float inputs.
        size: (height, width), required when the model's input height/width are dynamic.
        progress: called after every optimiser step with a StepReport.

    Returns:
        A Dataset: `.images` is N x C x H x W float32 in model-input space, `.manifest` says how it was made.

    Example:
        >>> ds = generate("model.onnx", n_images=256, config=GenerationConfig(n_iter=200))
        >>> ds.save("calib/", formats=["npy", "png"])
    """
    config = config or GenerationConfig()
    if isinstance(n_images, bool) or not isinstance(n_images, int) or n_images <= 0:
        raise ConfigError(f"--n-images must be a positive integer, got {n_images!r}")
    if config.method is Method.FRACTAL:
        source = model if isinstance(model, (ModelInput, PreparedModel)) else load_model_input(model, input_name, size)
        return _fractal_dataset(source, n_images, config)
    use_bn = config.method is Method.BN_INVERSION
    prepared = model if isinstance(model, PreparedModel) else prepare_model(model, input_name, size, use_bn)
    return _optimized_dataset(prepared, n_images, config, progress)


def _optimized_dataset(
    prepared: PreparedModel, n_images: int, config: GenerationConfig, progress: ProgressSink | None
) -> Dataset:
    """BN inversion, or (method prior, no BN sites) the same loop with only the statistics-free terms."""
    from onnx_datagen.backends.torch_backend import TorchBackend
    from onnx_datagen.report import statistics_report

    mean, std = config.normalization.per_channel(prepared.image.channels)
    backend = TorchBackend(prepared, config)
    started = time.perf_counter()
    initial, images = backend.optimize(n_images, progress)
    seconds = time.perf_counter() - started
    statistics = None
    if prepared.bn_sites:
        statistics = statistics_report(
            prepared.bn_sites,
            backend.weights,
            backend.bn_loss,
            backend.layer_statistics(initial),
            backend.layer_statistics(images),
        )
    dataset = Dataset(images, mean, std, config.normalization.pixel_scale)
    dataset.manifest = {
        **_manifest(prepared, config, dataset),
        "canvas_margin": backend.pipeline.extra,  # the resolved extra_pixels
        "backend": {
            "name": "torch",
            "device": config.device.value,
            "precision": config.precision.value,
            "micro_batch": backend.model.micro_batch,
            "torch": backend_version(),
            "python": platform.python_version(),
        },
        "statistics": statistics,
        "timing": {
            "optimize_seconds": round(seconds, 3),
            "images_x_iterations_per_second": round(n_images * config.n_iter / seconds, 2) if seconds else None,
        },
    }
    dataset.manifest["model"]["bn_layers"] = len(prepared.bn_sites)
    if backend.n_classes:  # the class each image was pushed towards
        dataset.manifest["labels"] = [i % backend.n_classes for i in range(n_images)]
    return dataset


def _fractal_dataset(source: ModelInput | PreparedModel, n_images: int, config: GenerationConfig) -> Dataset:
    """IFS fractal pixels, normalised like real images; exact 8-bit values, so PNG exports are lossless."""
    from onnx_datagen.image_init import fractal

    image = source.image
    mean, std = config.normalization.per_channel(image.channels)
    started = time.perf_counter()
    images = fractal(config.seed, 0, (n_images, *image.chw), config.normalization)
    dataset = Dataset(images, mean, std, config.normalization.pixel_scale)
    dataset.manifest = {
        **_manifest(source, config, dataset),
        "statistics": None,  # no BN statistics are matched
        "timing": {"render_seconds": round(time.perf_counter() - started, 3)},
    }
    return dataset


def _manifest(source: ModelInput | PreparedModel, config: GenerationConfig, dataset: Dataset) -> dict:
    """What every dataset's manifest says, whatever made the images."""
    return {
        "tool": "onnx-datagen",
        "version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "model": {
            "path": source.label,
            "sha256": source.sha256,
            "input": source.image.name,
            "input_layout": source.image.layout,
            "input_batch": source.image.batch,  # fixed batch size, or null when dynamic
        },
        "method": config.method.value,
        "n_images": len(dataset),
        "shape": list(dataset.images.shape),
        "dtype": "float32",
        "value_space": "model-input",
        "normalization": {
            "name": config.normalization.name,
            "mean": list(dataset.mean),
            "std": list(dataset.std),
            "pixel_scale": config.normalization.pixel_scale,
        },
        "seed": config.seed,
        "config": config.to_dict(),
        "clipped_fraction_8bit": dataset.eight_bit.clipped_fraction,
    }


def backend_version() -> str:
    import torch

    return torch.__version__
