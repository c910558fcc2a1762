"""generate(): model in, calibration images out."""

from __future__ import annotations

import datetime
import platform
import time
from pathlib import Path

import onnx

from onnx_datagen._version import __version__
from onnx_datagen.backends.base import ProgressSink
from onnx_datagen.config import GenerationConfig
from onnx_datagen.dataset import Dataset
from onnx_datagen.errors import ConfigError
from onnx_datagen.graph.prepare import PreparedModel, prepare_model


def generate(
    model: str | Path | onnx.ModelProto | PreparedModel,
    n_images: int = 1024,
    config: GenerationConfig | None = None,
    *,
    input_name: str | None = None,
    size: tuple[int, int] | None = None,
    progress: ProgressSink | None = None,
) -> Dataset:
    """Optimise `n_images` images until the model's BatchNorm input statistics match its running statistics.

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
    from onnx_datagen.backends.torch_backend import TorchBackend
    from onnx_datagen.report import statistics_report

    config = config or GenerationConfig()
    if isinstance(n_images, bool) or not isinstance(n_images, int) or n_images <= 0:
        raise ConfigError(f"--n-images must be a positive integer, got {n_images!r}")
    prepared = model if isinstance(model, PreparedModel) else prepare_model(model, input_name, size)
    mean, std = config.normalization.per_channel(prepared.image.channels)
    backend = TorchBackend(prepared, config)

    started = time.perf_counter()
    initial, images = backend.optimize(n_images, progress)
    seconds = time.perf_counter() - started
    statistics = statistics_report(
        prepared.bn_sites,
        backend.weights,
        backend.bn_loss,
        backend.layer_statistics(initial),
        backend.layer_statistics(images),
    )
    dataset = Dataset(images, mean, std, config.normalization.pixel_scale)
    dataset.manifest = {
        "tool": "onnx-datagen",
        "version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "model": {
            "path": prepared.label,
            "sha256": prepared.sha256,
            "input": prepared.image.name,
            "input_layout": prepared.image.layout,
            "input_batch": prepared.image.batch,  # fixed batch size, or null when dynamic
            "bn_layers": len(prepared.bn_sites),
        },
        "n_images": n_images,
        "shape": list(images.shape),
        "dtype": "float32",
        "value_space": "model-input",
        "normalization": {
            "name": config.normalization.name,
            "mean": list(mean),
            "std": list(std),
            "pixel_scale": config.normalization.pixel_scale,
        },
        "seed": config.seed,
        "config": config.to_dict(),
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
        "clipped_fraction_8bit": dataset.eight_bit.clipped_fraction,
        "timing": {
            "optimize_seconds": round(seconds, 3),
            "images_x_iterations_per_second": round(n_images * config.n_iter / seconds, 2) if seconds else None,
        },
    }
    return dataset


def backend_version() -> str:
    import torch

    return torch.__version__
